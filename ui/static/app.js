// refstore's web UI: boot, routing and the page frame. Routes live in the URL's hash
// (#/s/pr7214/27665601), so the server serves one page and deep links work; the session
// never appears in a URL.

import { t, setLanguage, pickLanguage, translate, language, LANGUAGES, autonym } from './js/i18n.js';
import { getSession, clearSession } from './js/session.js';
import { logout, onUnauthorized } from './js/api.js';
import { forgetRights } from './js/rights.js';
import { initMedia } from './js/media.js';
import { h, replace } from './js/dom.js';
import { renderSignIn } from './js/views/signin.js';
import { renderHome } from './js/views/home.js';
import { renderSegment } from './js/views/segment.js';
import { renderNotFound } from './js/views/notfound.js';

const main = () => document.getElementById('main');
let dispose = null;
let renderSeq = 0;
let pendingNotice = null; // a message for the next page (e.g. "your session ended")

// routes map a hash to a view; the first match wins.
const routes = [
  { re: /^#\/?$/, view: renderHome },
  { re: /^#\/s\/([^/]+)\/(\d+)$/, view: renderSegment, params: (m) => ({ scope: decodeURIComponent(m[1]), segment: m[2] }) },
];

export function navigate(hash, { replace: replaceEntry = false } = {}) {
  if (location.hash === hash) {
    route();
  } else if (replaceEntry) {
    history.replaceState(null, '', hash);
    route();
  } else {
    location.hash = hash;
  }
}

// announce says something to screen readers through the polite live region.
export function announce(message) {
  const el = document.getElementById('announcer');
  el.textContent = '';
  // A change of text is announced; setting the same text again after a tick is too.
  setTimeout(() => { el.textContent = message; }, 50);
}

// focusHeading moves focus to the page's heading after a route change, so that a screen
// reader announces the new page and Tab starts from its top. A page whose purpose is one
// field (sign-in) marks it data-autofocus, and the field gets the focus instead.
function focusHeading(root) {
  const field = root.querySelector('[data-autofocus]');
  if (field) {
    field.focus();
    return;
  }
  const h1 = root.querySelector('h1');
  if (h1) {
    h1.tabIndex = -1;
    h1.focus({ preventScroll: false });
  } else {
    root.focus();
  }
}

async function route() {
  const seq = ++renderSeq;
  if (dispose) { try { dispose(); } catch (err) { console.error(err); } }
  dispose = null;
  const root = main();
  root.setAttribute('aria-busy', 'true');
  replace(root);
  updateFrame();
  const ctx = { navigate, announce, signOut, notice: takeNotice() };
  const hash = location.hash || '#/';
  let view = renderNotFound;
  let params = {};
  if (!getSession()) {
    view = renderSignIn;
    ctx.returnTo = hash;
  } else {
    for (const r of routes) {
      const m = hash.match(r.re);
      if (m) { view = r.view; params = r.params ? r.params(m) : {}; break; }
    }
  }
  ctx.params = params;
  try {
    const d = await view(root, ctx);
    if (seq !== renderSeq) { if (typeof d === 'function') d(); return; }
    dispose = typeof d === 'function' ? d : null;
  } catch (err) {
    console.error(err);
  }
  if (seq !== renderSeq) return;
  root.setAttribute('aria-busy', 'false');
  const h1 = root.querySelector('h1');
  document.title = h1 ? `${h1.textContent} · refstore` : 'refstore';
  focusHeading(root);
}

function takeNotice() {
  const n = pendingNotice;
  pendingNotice = null;
  return n;
}

// signOut ends the session on the server (best effort: the token is dropped here either
// way) and shows the sign-in page. stay keeps the address, so that signing in again after
// a session ended elsewhere returns to the same page.
export async function signOut({ notice = null, callServer = true, stay = false } = {}) {
  if (callServer && getSession()) {
    try { await logout(); } catch (err) { console.warn('sign-out on the server failed', err); }
  }
  clearSession();
  forgetRights();
  pendingNotice = notice;
  if (stay) route(); else navigate('#/', { replace: true });
}

// updateFrame shows who is signed in and the sign-out button.
function updateFrame() {
  const s = getSession();
  const who = document.getElementById('whoami');
  const out = document.getElementById('sign-out');
  who.hidden = !s;
  out.hidden = !s;
  who.textContent = s ? t('auth.signedInAs', { account: s.account }) : '';
}

function buildLanguageSelect() {
  const sel = document.getElementById('lang-select');
  replace(sel, LANGUAGES.map((code) => h('option', { value: code, lang: code }, autonym(code))));
  sel.value = language();
}

async function boot() {
  await setLanguage(pickLanguage());
  translate();
  buildLanguageSelect();
  document.getElementById('lang-select').addEventListener('change', async (e) => {
    await setLanguage(e.target.value, { remember: true });
    translate();
    buildLanguageSelect();
    await route();
    document.getElementById('lang-select').focus();
  });
  document.getElementById('sign-out').addEventListener('click', () => signOut({ notice: 'auth.signedOut' }));
  // The skip link's #main would be taken for a route: it moves the focus itself.
  document.querySelector('.skip-link').addEventListener('click', (e) => {
    e.preventDefault();
    main().focus();
  });
  onUnauthorized(() => {
    if (getSession()) signOut({ notice: 'auth.sessionEnded', callServer: false, stay: true });
  });
  // Files dropped outside the drop zone must not replace the page with the file.
  for (const type of ['dragover', 'drop']) window.addEventListener(type, (e) => e.preventDefault());
  window.addEventListener('hashchange', route);
  initMedia(); // registers the service worker early; media wait for it
  await route();
}

boot();
