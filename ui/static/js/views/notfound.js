import { t } from '../i18n.js';
import { h, append } from '../dom.js';

export function renderNotFound(main) {
  append(main, h('section', {},
    h('h1', {}, t('notFound.title')),
    h('p', {}, t('notFound.text')),
    h('p', {}, h('a', { href: '#/' }, t('notFound.home')))));
}
