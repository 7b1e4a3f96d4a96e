// Uploading files into a segment: drop them on the drop zone or choose them with the file
// picker (the keyboard's way in), pick the locale and folder, and watch a progress bar per
// file. Each file is sent to media upload, then attached to the segment at
// locale/folder/name, which replaces a file of the same name there.

import { t, formatSize } from '../i18n.js';
import { h, uid, replace } from '../dom.js';
import { uploadFile, attach } from '../api.js';
import { describe } from '../errors.js';
import { useResumable, uploadResumable } from '../tus.js';

const PARALLEL = 2; // files in flight at once; the server caps uploads per key at 8

// sendFile uploads one file and attaches it; the single place both the uploader and
// "Replace" go through. name replaces the file's own name; progress(sent, total).
export async function sendFile({ scope, segment, file, name, locale, relativePath, progress, signal }) {
  const up = useResumable(file) ? uploadResumable : uploadFile;
  const { token } = await up(file, { name, onProgress: progress, signal });
  progress?.(file.size, file.size, 'attaching');
  return attach(scope, segment, { filetoken: token, locale, relativePath });
}

// normalizeFolder turns what a person types (screens\login/, /screens/login) into the
// API's relativePath: folders separated by "/", no leading or trailing separator.
export function normalizeFolder(s) {
  return String(s || '').trim().replace(/\\/g, '/').split('/').map((p) => p.trim()).filter(Boolean).join('/');
}

// renderUploader returns the upload section. locales are the segment's locales (offered
// as suggestions); has(locale, folder, name) tells whether the segment holds that file
// already (the upload then replaces it, and says so); onUploaded(asset) runs after each
// attached file; announce speaks.
export function renderUploader({ scope, segment, locales, has, onUploaded, announce }) {
  const titleId = uid('upload-title');
  const localeId = uid('locale');
  const localeHint = uid('locale-hint');
  const folderId = uid('folder');
  const folderHint = uid('folder-hint');
  const listId = uid('locales');
  // The file picker is the keyboard's way in: a real file input, hidden from sight but not
  // from focus, whose label looks like a button. Enter or Space on it opens the browser's
  // chooser natively; a script's input.click() would depend on the key press still counting
  // as the person's action when it runs.
  const pickerId = uid('picker');
  const picker = h('input', { type: 'file', multiple: true, id: pickerId, class: 'file-picker visually-hidden' });
  const locale = h('input', { id: localeId, name: 'locale', list: listId, autocomplete: 'off', spellcheck: 'false',
    'aria-describedby': localeHint, value: sessionStorage.getItem('refstore.upload.locale') || '' });
  const folder = h('input', { id: folderId, name: 'folder', autocomplete: 'off', spellcheck: 'false',
    'aria-describedby': folderHint, value: sessionStorage.getItem('refstore.upload.folder') || '' });
  const zone = h('div', { class: 'dropzone', 'data-testid': 'dropzone' },
    h('p', { class: 'dropzone-text' }, t('upload.drop')),
    h('p', { class: 'dropzone-or' }, t('upload.or')),
    picker,
    h('label', { for: pickerId, class: 'button primary choose-label' }, t('upload.choose')));
  const list = h('ul', { class: 'upload-list', 'aria-label': t('upload.listLabel') });

  picker.addEventListener('change', () => {
    enqueue([...picker.files]);
    picker.value = '';
  });
  zone.addEventListener('dragenter', (e) => { e.preventDefault(); zone.classList.add('over'); });
  zone.addEventListener('dragover', (e) => {
    e.preventDefault();
    if (e.dataTransfer) e.dataTransfer.dropEffect = 'copy';
    zone.classList.add('over');
  });
  zone.addEventListener('dragleave', (e) => { if (!zone.contains(e.relatedTarget)) zone.classList.remove('over'); });
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    const files = [...(e.dataTransfer?.files || [])];
    if (files.length) enqueue(files);
  });

  const queue = [];
  let running = 0;

  function enqueue(files) {
    const loc = locale.value.trim();
    const rel = normalizeFolder(folder.value);
    sessionStorage.setItem('refstore.upload.locale', loc);
    sessionStorage.setItem('refstore.upload.folder', rel);
    for (const file of files) queue.push(row(file, loc, rel));
    announce(t('upload.queued', { count: files.length }));
    pump();
  }

  function row(file, loc, rel) {
    const nameId = uid('upload-name');
    const bar = h('progress', { max: String(Math.max(file.size, 1)), value: '0', 'aria-labelledby': nameId });
    const status = h('span', { class: 'upload-status' }, t('upload.waiting'));
    const li = h('li', { class: 'upload-item', 'data-file': file.name },
      h('span', { class: 'upload-name', id: nameId }, file.name),
      h('span', { class: 'upload-size' }, formatSize(file.size)),
      bar, status);
    list.prepend(li);
    return { file, loc, rel, li, bar, status };
  }

  async function pump() {
    while (running < PARALLEL && queue.length) {
      const job = queue.shift();
      running++;
      run(job).finally(() => { running--; pump(); });
    }
  }

  async function run(job) {
    const { file, li, bar, status } = job;
    const replacing = has(job.loc, job.rel, file.name);
    const pct = new Intl.NumberFormat(document.documentElement.lang, { style: 'percent' });
    li.classList.add('active');
    replace(status, t('upload.sending', { percent: pct.format(0) }));
    try {
      const asset = await sendFile({
        scope, segment, file, locale: job.loc, relativePath: job.rel,
        progress: (sent, total, phase) => {
          bar.max = Math.max(total, 1);
          bar.value = sent;
          replace(status, phase === 'attaching' ? t('upload.attaching') : t('upload.sending', { percent: pct.format(sent / Math.max(total, 1)) }));
        },
      });
      li.classList.replace('active', 'done');
      bar.value = bar.max;
      replace(status, replacing ? t('upload.doneReplaced') : t('upload.done'));
      announce(t('upload.doneAnnounce', { name: file.name }));
      onUploaded(asset);
    } catch (err) {
      li.classList.replace('active', 'failed');
      const d = describe(err);
      replace(status, h('span', { role: 'alert' }, t('upload.failed', { reason: d.message })));
    }
  }

  return h('section', { class: 'uploader', 'aria-labelledby': titleId },
    h('h2', { id: titleId }, t('upload.title')),
    h('div', { class: 'field-row' },
      h('div', { class: 'field' }, h('label', { for: localeId }, t('upload.locale')), locale,
        h('p', { class: 'hint', id: localeHint }, t('upload.localeHint'))),
      h('div', { class: 'field' }, h('label', { for: folderId }, t('upload.folder')), folder,
        h('p', { class: 'hint', id: folderHint }, t('upload.folderHint')))),
    h('datalist', { id: listId }, locales.map((l) => h('option', { value: l }))),
    zone, list);
}
