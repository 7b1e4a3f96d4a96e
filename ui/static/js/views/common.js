// Pieces several views share: error and notice boxes, breadcrumbs, scope names.

import { t } from '../i18n.js';
import { h, replace } from '../dom.js';
import { describe } from '../errors.js';

// errorBox is a region that shows an error in words; role=alert makes screen readers say
// it when it appears.
export function errorBox() {
  const el = h('div', { class: 'error-box', role: 'alert', hidden: true });
  return {
    el,
    show(message, detail = '') {
      replace(el, h('p', { class: 'error-message' }, message), detail ? h('p', { class: 'error-detail' }, detail) : null);
      el.hidden = false;
    },
    showError(err) {
      const d = describe(err);
      this.show(d.message, d.detail);
    },
    clear() { replace(el); el.hidden = true; },
  };
}

export function noticeBox(message) {
  return h('div', { class: 'notice-box', role: 'status' }, h('p', {}, message));
}

// SCOPE_RE is the form of a project or job scope: pr7214, jbs9927, jbc500.
export const SCOPE_RE = /^(pr|jbs|jbc)([1-9]\d{0,17})$/;

// scopeLabel names a scope for people: "Project 7214", "Job 9927", "Codyt job 500".
export function scopeLabel(scope) {
  const m = SCOPE_RE.exec(scope);
  if (!m) return scope;
  const key = { pr: 'scope.project', jbs: 'scope.job', jbc: 'scope.codytJob' }[m[1]];
  return t(key, { id: m[2] });
}

// breadcrumbs renders a trail of [label, href] pairs; the last is the current page.
export function breadcrumbs(items) {
  return h('nav', { class: 'breadcrumbs', 'aria-label': t('nav.breadcrumbs') },
    h('ol', {}, items.map(([label, href], i) => h('li', {},
      i === items.length - 1 ? h('span', { 'aria-current': 'page' }, label) : href ? h('a', { href }, label) : h('span', {}, label)))));
}

// loading is a busy message, spoken politely.
export function loading(text) {
  return h('p', { class: 'loading', role: 'status' }, text);
}
