// Sign in with an account id and an API key. The key is exchanged for a session token
// at once and never stored; the token goes to sessionStorage.

import { t } from '../i18n.js';
import { h, uid, append } from '../dom.js';
import { login } from '../api.js';
import { setSession } from '../session.js';
import { forgetRights } from '../rights.js';
import { describe } from '../errors.js';
import { errorBox, noticeBox } from './common.js';

export function renderSignIn(main, ctx) {
  const accountId = uid('account');
  const keyId = uid('apikey');
  const error = errorBox();
  const account = h('input', { id: accountId, name: 'account', autocomplete: 'username', required: true, autocapitalize: 'off', spellcheck: 'false', 'data-autofocus': true });
  const key = h('input', { id: keyId, name: 'apikey', type: 'password', autocomplete: 'current-password', required: true });
  const submit = h('button', { type: 'submit', class: 'button primary' }, t('auth.signIn'));
  const form = h('form', { class: 'card-form', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: accountId }, t('auth.account')), account),
    h('div', { class: 'field' }, h('label', { for: keyId }, t('auth.apiKey')), key),
    error.el,
    h('div', { class: 'form-actions' }, submit));

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.clear();
    for (const f of [account, key]) f.removeAttribute('aria-invalid');
    const missing = [account, key].filter((f) => !f.value.trim());
    if (missing.length) {
      for (const f of missing) f.setAttribute('aria-invalid', 'true');
      error.show(t('auth.missingFields'));
      missing[0].focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = t('auth.signingIn');
    try {
      const token = await login(account.value.trim(), key.value);
      key.value = '';
      setSession(account.value.trim(), token);
      forgetRights();
      ctx.navigate(ctx.returnTo || '#/', { replace: true });
    } catch (err) {
      const d = describe(err);
      error.show(d.message, d.detail);
      if (err.code === 'invalid_key') key.setAttribute('aria-invalid', 'true');
      submit.disabled = false;
      submit.textContent = t('auth.signIn');
      key.focus();
      key.select();
    }
  });

  append(main, 
    h('section', { class: 'signin' },
      h('h1', {}, t('auth.title')),
      h('p', { class: 'lead' }, t('auth.intro')),
      ctx.notice ? noticeBox(t(ctx.notice)) : null,
      form));
}
