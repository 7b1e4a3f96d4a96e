// Modal dialogs on the native <dialog>: showModal() keeps focus inside and Escape closes
// it; focus returns to the control that opened it.

import { t } from '../i18n.js';
import { h, uid } from '../dom.js';

// openDialog shows a modal dialog with a title, content and footer buttons, and returns
// {dialog, body, close}. onClose runs once when it closes, however it closes.
export function openDialog({ title, content = [], footer = [], className = '', onClose, closeButton: withClose = true } = {}) {
  const opener = document.activeElement;
  const titleId = uid('dialog-title');
  const body = h('div', { class: 'dialog-body' }, content);
  const closeButton = h('button', { type: 'button', class: 'button secondary dialog-close' }, t('dialog.close'));
  const dialog = h('dialog', { class: `dialog ${className}`.trim(), 'aria-labelledby': titleId },
    h('header', { class: 'dialog-header' }, h('h2', { id: titleId }, title), withClose ? closeButton : null),
    body,
    footer.length ? h('footer', { class: 'dialog-footer' }, footer) : null);
  const close = () => { if (dialog.open) dialog.close(); };
  closeButton.addEventListener('click', close);
  dialog.addEventListener('close', () => {
    dialog.remove();
    if (onClose) onClose();
    if (opener && opener.isConnected && typeof opener.focus === 'function') opener.focus();
  }, { once: true });
  document.body.append(dialog);
  dialog.showModal();
  return { dialog, body, close, titleId };
}

// confirmDialog asks a yes-or-no question about a destructive action and resolves to true
// when confirmed. The safe answer has the focus.
export function confirmDialog({ title, message, confirmLabel }) {
  return new Promise((resolve) => {
    let answer = false;
    const cancel = h('button', { type: 'button', class: 'button secondary' }, t('dialog.cancel'));
    const confirm = h('button', { type: 'button', class: 'button danger' }, confirmLabel);
    const d = openDialog({ title, className: 'confirm', content: [h('p', {}, message)], footer: [cancel, confirm],
      closeButton: false, onClose: () => resolve(answer) });
    cancel.addEventListener('click', d.close);
    confirm.addEventListener('click', () => { answer = true; d.close(); });
    cancel.focus();
  });
}

// linkDialog shows a link to copy by hand, when the clipboard is not available.
export function linkDialog(link) {
  const id = uid('link');
  const input = h('input', { id, type: 'text', readonly: true, value: link, class: 'wide' });
  const d = openDialog({ title: t('asset.copyLinkTitle'), content: [
    h('label', { for: id }, t('asset.copyLinkManual')), input] });
  input.focus();
  input.select();
  return d;
}
