// The viewer: one asset at a time in a modal dialog, with previous and next. Images can be
// zoomed (buttons, or + − 0 on the keyboard); videos and audio play with seeking (Range
// requests through the service worker); a PDF opens in the browser's own viewer until the
// server renders page previews (previews.js); anything else can be downloaded.

import { t, formatSize, formatDate } from '../i18n.js';
import { h, replace } from '../dom.js';
import { BlobBag, blobURL, streamURL } from '../media.js';
import { kindOf, pdfPageURL } from '../previews.js';
import { openDialog } from './dialogs.js';
import { errorBox } from './common.js';

const ZOOM_STEPS = [0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4];

// openViewer shows list[index]; actions are the asset actions the segment page offers
// (download, copy link), as functions of an asset.
export function openViewer(list, index, actions) {
  let bag = new BlobBag();
  let i = index;
  const content = h('div', { class: 'viewer-content' });
  const info = h('p', { class: 'viewer-info' });
  const prev = h('button', { type: 'button', class: 'button secondary' }, t('viewer.previous'));
  const next = h('button', { type: 'button', class: 'button secondary' }, t('viewer.next'));
  const download = h('button', { type: 'button', class: 'button secondary' }, t('asset.download'));
  const copy = h('button', { type: 'button', class: 'button secondary' }, t('asset.copyLink'));
  const d = openDialog({
    title: list[i].name,
    className: 'viewer',
    content: [info, content],
    footer: [prev, next, h('span', { class: 'spacer' }), download, copy],
    onClose: () => bag.release(),
  });
  const title = d.dialog.querySelector(`#${d.titleId}`);

  const show = async () => {
    bag.release();
    bag = new BlobBag();
    const a = list[i];
    title.textContent = a.name;
    info.textContent = t('viewer.info', { size: formatSize(a.size), date: formatDate(a.modifiedDate), position: i + 1, count: list.length });
    prev.disabled = i === 0;
    next.disabled = i === list.length - 1;
    replace(content, h('p', { class: 'loading', role: 'status' }, t('viewer.loading')));
    try {
      await renderAsset(content, a, bag);
    } catch (err) {
      if (err?.name === 'AbortError') return;
      const e = errorBox();
      e.showError(err);
      replace(content, e.el);
    }
  };

  prev.addEventListener('click', () => { if (i > 0) { i--; show(); } });
  next.addEventListener('click', () => { if (i < list.length - 1) { i++; show(); } });
  download.addEventListener('click', () => actions.download(list[i]));
  copy.addEventListener('click', () => actions.copyLink(list[i]));
  d.dialog.addEventListener('keydown', (e) => {
    if (e.target.closest('video, audio, input, select, textarea')) return;
    if (e.key === 'ArrowLeft' && i > 0) { i--; show(); e.preventDefault(); }
    if (e.key === 'ArrowRight' && i < list.length - 1) { i++; show(); e.preventDefault(); }
  });
  show();
  return d;
}

async function renderAsset(content, a, bag) {
  switch (kindOf(a)) {
    case 'image': return renderImage(content, a, bag);
    case 'video': return renderMedia(content, a, bag, 'video');
    case 'audio': return renderMedia(content, a, bag, 'audio');
    case 'pdf': return renderPDF(content, a, bag);
    default:
      replace(content, h('p', { class: 'no-preview' }, t('viewer.noPreview')));
      return undefined;
  }
}

async function renderImage(content, a, bag) {
  const url = await blobURL(bag, a);
  const img = h('img', { src: url, alt: a.name, class: 'zoomable fit', draggable: 'false' });
  const frame = h('div', { class: 'zoom-frame', tabindex: '0', role: 'group', 'aria-label': t('viewer.imageArea') }, img);
  const level = h('span', { class: 'zoom-level', 'aria-live': 'polite' });
  let zoom = null; // null: fit to the frame
  const percent = new Intl.NumberFormat(document.documentElement.lang, { style: 'percent' });
  const apply = () => {
    if (zoom === null) {
      img.classList.add('fit');
      img.style.width = '';
      level.textContent = t('viewer.fitted');
    } else {
      img.classList.remove('fit');
      img.style.width = `${Math.round(img.naturalWidth * zoom)}px`;
      level.textContent = percent.format(zoom);
    }
  };
  const current = () => (zoom === null ? Math.min(1, frame.clientWidth / (img.naturalWidth || 1)) : zoom);
  const step = (dir) => {
    const z = current();
    const next = dir > 0 ? ZOOM_STEPS.find((s) => s > z + 1e-6) : [...ZOOM_STEPS].reverse().find((s) => s < z - 1e-6);
    if (next !== undefined) { zoom = next; apply(); }
  };
  const zoomIn = h('button', { type: 'button', class: 'button secondary', onclick: () => step(1) }, t('viewer.zoomIn'));
  const zoomOut = h('button', { type: 'button', class: 'button secondary', onclick: () => step(-1) }, t('viewer.zoomOut'));
  const fit = h('button', { type: 'button', class: 'button secondary', onclick: () => { zoom = null; apply(); } }, t('viewer.fit'));
  const actual = h('button', { type: 'button', class: 'button secondary', onclick: () => { zoom = 1; apply(); } }, t('viewer.actualSize'));
  frame.addEventListener('keydown', (e) => {
    if (e.key === '+' || e.key === '=') { step(1); e.preventDefault(); }
    if (e.key === '-') { step(-1); e.preventDefault(); }
    if (e.key === '0') { zoom = null; apply(); e.preventDefault(); }
  });
  await img.decode().catch(() => {});
  replace(content,
    h('div', { class: 'zoom-tools', role: 'toolbar', 'aria-label': t('viewer.zoomTools') }, zoomOut, zoomIn, fit, actual, level),
    frame);
  apply();
}

async function renderMedia(content, a, bag, tag) {
  let src = await streamURL(a);
  let note = null;
  if (!src) {
    // No service worker: the whole file is fetched first, and seeking works within it.
    src = await blobURL(bag, a);
    note = h('p', { class: 'hint' }, t('viewer.noStreaming'));
  }
  const el = h(tag, { src, controls: true, preload: 'metadata', class: 'player', 'aria-label': a.name });
  replace(content, el, note);
}

async function renderPDF(content, a, bag) {
  const first = await pdfPageURL(bag, a, 1);
  if (first) {
    replace(content, h('img', { src: first, alt: t('viewer.pdfPage', { page: 1 }), class: 'pdf-page' }));
    return;
  }
  const open = h('button', { type: 'button', class: 'button primary' }, t('viewer.openPdf'));
  const error = errorBox();
  open.addEventListener('click', async () => {
    error.clear();
    // A window opened now, while the click counts as the person's, is not blocked; it is
    // pointed at the bytes once they are here.
    const win = window.open('', '_blank');
    try {
      const url = await blobURL(bag, a);
      if (win) win.location.href = url; else window.location.assign(url);
    } catch (err) {
      if (win) win.close();
      error.showError(err);
    }
  });
  replace(content, h('div', { class: 'pdf-placeholder' },
    h('span', { class: 'badge badge-pdf', 'aria-hidden': 'true' }, t('kind.pdf')),
    h('p', {}, t('viewer.pdfText')), open, error.el));
}
