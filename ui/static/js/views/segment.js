// A segment's page: its assets grouped by locale, then folder, as thumbnails; the viewer;
// download and copy-link; upload, replace and delete for callers with those rights.

import { t, formatSize, formatDate, languageName } from '../i18n.js';
import { h, replace, append } from '../dom.js';
import { listAssets, deleteAsset } from '../api.js';
import { scopeRights } from '../rights.js';
import { BlobBag, downloadAsset } from '../media.js';
import { kindOf, thumbnailURL } from '../previews.js';
import { errorBox, breadcrumbs, scopeLabel, loading, SCOPE_RE } from './common.js';
import { confirmDialog, linkDialog } from './dialogs.js';
import { openViewer } from './viewer.js';
import { renderUploader, sendFile } from './upload.js';
import { rememberSegment } from './recent.js';
import { describe } from '../errors.js';

export async function renderSegment(main, ctx) {
  const { scope, segment } = ctx.params;
  let bag = new BlobBag();
  let viewer = null;
  let gone = false;
  const title = h('h1', {}, t('segment.title', { segment }));
  const error = errorBox();
  const summary = h('p', { class: 'summary', role: 'status' });
  const uploadSlot = h('aside', { class: 'segment-side', hidden: true });
  const groups = h('div', { class: 'groups' });
  append(main,
    breadcrumbs([[t('nav.home'), '#/'], [scopeLabel(scope), null], [t('segment.crumb', { segment }), null]]),
    title,
    h('p', { class: 'lead' }, scopeLabel(scope)),
    error.el,
    h('div', { class: 'segment-layout' }, h('div', { class: 'segment-files' }, summary, groups), uploadSlot));

  if (!SCOPE_RE.test(scope)) {
    error.show(t('home.badScope'));
    return undefined;
  }

  let rights = { read: false, upload: false, delete: false };
  let assets = [];
  const actions = {
    download: (a) => downloadAsset(a).catch((err) => showActionError(err)),
    copyLink: (a) => copyLink(a),
    replace: (a) => replaceAsset(a),
    delete: (a) => removeAsset(a),
  };

  function showActionError(err) {
    const d = describe(err);
    error.show(d.message, d.detail);
    ctx.announce(d.message);
  }

  async function copyLink(a) {
    try {
      await navigator.clipboard.writeText(a.downloadUrl);
      ctx.announce(t('asset.linkCopied', { name: a.name }));
    } catch {
      linkDialog(a.downloadUrl);
    }
  }

  function replaceAsset(a) {
    const input = h('input', { type: 'file', hidden: true, accept: a.contentType || '' });
    input.addEventListener('change', async () => {
      const file = input.files[0];
      input.remove();
      if (!file) return;
      error.clear();
      ctx.announce(t('asset.replacing', { name: a.name }));
      try {
        await sendFile({ scope, segment, file, name: a.name, locale: a.locale || '', relativePath: folderOf(a) });
        ctx.announce(t('asset.replaced', { name: a.name }));
        await reload();
      } catch (err) {
        showActionError(err);
      }
    }, { once: true });
    append(main, input);
    input.click();
  }

  async function removeAsset(a) {
    const ok = await confirmDialog({
      title: t('asset.deleteTitle'),
      message: t('asset.deleteQuestion', { name: a.name, place: placeOf(a) }),
      confirmLabel: t('asset.delete'),
    });
    if (!ok) return;
    error.clear();
    try {
      await deleteAsset(scope, segment, a);
      ctx.announce(t('asset.deleted', { name: a.name }));
      await reload();
      title.focus();
    } catch (err) {
      showActionError(err);
    }
  }

  async function reload() {
    const fresh = await listAssets(scope, segment);
    if (gone) return;
    assets = fresh;
    const old = bag;
    bag = new BlobBag();
    renderGroups();
    old.release();
  }

  function renderGroups() {
    summary.textContent = t('segment.count', { count: assets.length });
    if (!assets.length) {
      replace(groups, h('p', { class: 'empty' }, rights.upload ? t('segment.emptyUpload') : t('segment.empty')));
      return;
    }
    const ordered = order(assets);
    const byLocale = groupBy(ordered, (a) => a.locale || '');
    replace(groups, [...byLocale].map(([locale, inLocale]) => {
      const id = `loc-${locale || 'none'}`;
      return h('section', { class: 'locale-group', 'aria-labelledby': id },
        h('h2', { id }, locale ? t('segment.locale', { name: languageName(locale), code: locale }) : t('segment.noLocale'),
          h('span', { class: 'count' }, t('segment.files', { count: inLocale.length }))),
        [...groupBy(inLocale, folderOf)].map(([folder, inFolder]) => h('section', { class: 'folder-group' },
          h('h3', {}, folder ? h('span', { class: 'folder-name' }, folder) : t('segment.noFolder')),
          h('ul', { class: 'asset-grid' }, inFolder.map((a) => card(a, ordered))))));
    }));
  }

  function card(a, ordered) {
    const kind = kindOf(a);
    const nameId = `name-${a.id}`;
    // The button's name is its text: "Open name" (hidden from sight: the picture says it)
    // and the kind's badge while there is no picture, so that what shows is in the name.
    const thumb = h('span', { class: `thumb-inner kind-${kind}` },
      h('span', { class: `badge badge-${kind}` }, t(`kind.${kind}`)));
    const open = h('button', { type: 'button', class: 'thumb' },
      h('span', { class: 'visually-hidden' }, t('asset.open', { name: a.name })), thumb);
    open.addEventListener('click', () => { viewer = openViewer(ordered, ordered.indexOf(a), actions); });
    thumbnailURL(bag, a).then((url) => {
      if (url) replace(thumb, h('img', { src: url, alt: '', 'data-version': versionOf(a), loading: 'lazy' }));
    }).catch((err) => { if (err?.name !== 'AbortError') thumb.classList.add('thumb-failed'); });
    const btn = (label, fn, cls = 'secondary') => h('button', { type: 'button', class: `button small ${cls}`, 'aria-describedby': nameId, onclick: () => fn(a) }, label);
    return h('li', { class: 'asset-card', 'data-asset-id': a.id, 'data-name': a.name },
      open,
      h('div', { class: 'asset-meta' },
        h('span', { class: 'asset-name', id: nameId, title: a.name }, a.name),
        h('span', { class: 'asset-info' }, t('asset.info', { size: formatSize(a.size), date: formatDate(a.modifiedDate) }))),
      h('div', { class: 'asset-actions' },
        btn(t('asset.download'), actions.download),
        btn(t('asset.copyLink'), actions.copyLink),
        rights.upload ? btn(t('asset.replace'), actions.replace) : null,
        rights.delete ? btn(t('asset.delete'), actions.delete, 'danger') : null));
  }

  summary.append(loading(t('segment.loading')));
  try {
    [rights, assets] = await Promise.all([scopeRights(scope), listAssets(scope, segment)]);
  } catch (err) {
    replace(summary);
    error.showError(err);
    return () => { gone = true; bag.release(); };
  }
  rememberSegment(scope, segment);
  if (rights.upload) {
    const locales = [...new Set(assets.map((a) => a.locale).filter(Boolean))].sort();
    uploadSlot.append(renderUploader({ scope, segment, locales, announce: ctx.announce,
      has: (locale, folder, name) => assets.some((a) => (a.locale || '') === locale && folderOf(a) === folder && a.name === name),
      onUploaded: () => scheduleReload() }));
    uploadSlot.hidden = false;
    main.querySelector('.segment-layout').classList.add('with-side');
  }
  renderGroups();

  let reloadTimer = null;
  function scheduleReload() {
    clearTimeout(reloadTimer);
    reloadTimer = setTimeout(() => reload().catch(showActionError), 150);
  }

  return () => {
    gone = true;
    clearTimeout(reloadTimer);
    if (viewer) viewer.close();
    bag.release();
  };
}

// folderOf is an asset's folder path with "/" (the API writes relativePath with "\").
function folderOf(a) {
  return String(a.relativePath || '').replace(/\\/g, '/').replace(/^\/+|\/+$/g, '');
}

function placeOf(a) {
  const f = folderOf(a);
  const loc = a.locale ? languageName(a.locale) : t('segment.noLocale');
  return f ? `${loc} › ${f}` : loc;
}

// versionOf is the v of an asset's download URL: it changes with every new version.
function versionOf(a) {
  try { return new URL(a.downloadUrl, location.origin).searchParams.get('v') || ''; } catch { return ''; }
}

// order sorts assets by locale (no locale last), folder, then name, as people expect.
function order(list) {
  const coll = new Intl.Collator(document.documentElement.lang, { numeric: true, sensitivity: 'base' });
  return [...list].sort((x, y) => {
    const lx = x.locale || '\uffff';
    const ly = y.locale || '\uffff';
    return coll.compare(lx, ly) || coll.compare(folderOf(x), folderOf(y)) || coll.compare(x.name, y.name);
  });
}

function groupBy(list, key) {
  const m = new Map();
  for (const x of list) {
    const k = key(x);
    if (!m.has(k)) m.set(k, []);
    m.get(k).push(x);
  }
  return m;
}

