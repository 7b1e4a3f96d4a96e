// The start page: open a segment by its scope and id, the segments opened recently in this
// tab, and (once the server has the browse routes) the caller's projects and jobs.

import { t } from '../i18n.js';
import { h, uid, append } from '../dom.js';
import { renderBrowse } from '../browse.js';
import { errorBox, noticeBox, SCOPE_RE, scopeLabel } from './common.js';
import { recentSegments } from './recent.js';

export async function renderHome(main, ctx) {
  const scopeId = uid('scope');
  const scopeHint = uid('scope-hint');
  const segId = uid('segment');
  const error = errorBox();
  const scope = h('input', { id: scopeId, name: 'scope', required: true, autocapitalize: 'off', spellcheck: 'false', 'aria-describedby': scopeHint });
  const segment = h('input', { id: segId, name: 'segment', inputmode: 'numeric', required: true, autocomplete: 'off' });
  const form = h('form', { class: 'card-form', novalidate: true, 'aria-labelledby': 'open-title' },
    h('h2', { id: 'open-title' }, t('home.openTitle')),
    h('div', { class: 'field-row' },
      h('div', { class: 'field' }, h('label', { for: scopeId }, t('home.scope')), scope,
        h('p', { class: 'hint', id: scopeHint }, t('home.scopeHint'))),
      h('div', { class: 'field' }, h('label', { for: segId }, t('home.segment')), segment)),
    error.el,
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'button primary' }, t('home.open'))));

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    error.clear();
    const sc = scope.value.trim().toLowerCase();
    const seg = segment.value.trim();
    scope.removeAttribute('aria-invalid');
    segment.removeAttribute('aria-invalid');
    if (!SCOPE_RE.test(sc)) {
      scope.setAttribute('aria-invalid', 'true');
      error.show(t('home.badScope'));
      scope.focus();
      return;
    }
    if (!/^[1-9]\d{0,17}$/.test(seg)) {
      segment.setAttribute('aria-invalid', 'true');
      error.show(t('home.badSegment'));
      segment.focus();
      return;
    }
    ctx.navigate(`#/s/${encodeURIComponent(sc)}/${seg}`);
  });

  const recent = recentSegments();
  const browse = h('div', { class: 'browse' });
  append(main, 
    h('h1', {}, t('home.title')),
    h('p', { class: 'lead' }, t('home.intro')),
    ctx.notice ? noticeBox(t(ctx.notice)) : null,
    form,
    recent.length ? h('section', { class: 'recent', 'aria-labelledby': 'recent-title' },
      h('h2', { id: 'recent-title' }, t('home.recent')),
      h('ul', { class: 'link-list' }, recent.map((r) => h('li', {},
        h('a', { href: `#/s/${encodeURIComponent(r.scope)}/${r.segment}` },
          t('home.recentItem', { segment: r.segment, scope: scopeLabel(r.scope) })))))) : null,
    browse);
  await renderBrowse(browse);
}
