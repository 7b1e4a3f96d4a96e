// Message catalogs and locale-aware formatting. Every string a person reads comes from
// /ui/i18n/{lang}.json through t(); dates, sizes and numbers go through Intl, so they
// follow the chosen language.

export const LANGUAGES = ['en', 'de'];
const FALLBACK = 'en';
const STORAGE_KEY = 'refstore.lang'; // a preference, not a secret: localStorage is fine

let lang = FALLBACK;
let catalog = {};
let fallbackCatalog = {};
let plural = new Intl.PluralRules(FALLBACK);
const listeners = new Set();

// pickLanguage returns the stored choice, else the first supported language the browser
// asks for (de-AT counts as de), else English.
export function pickLanguage() {
  const stored = safeStorage()?.getItem(STORAGE_KEY);
  if (LANGUAGES.includes(stored)) return stored;
  for (const tag of navigator.languages || [navigator.language]) {
    const base = String(tag || '').toLowerCase().split('-')[0];
    if (LANGUAGES.includes(base)) return base;
  }
  return FALLBACK;
}

function safeStorage() {
  try { return window.localStorage; } catch { return null; }
}

async function loadCatalog(code) {
  const res = await fetch(`/ui/i18n/${code}.json`, { credentials: 'omit' });
  if (!res.ok) throw new Error(`catalog ${code}: HTTP ${res.status}`);
  return res.json();
}

// setLanguage loads a catalog and makes it current. remember stores the choice (a switch
// by the person); the language picked from the browser is not stored.
export async function setLanguage(code, { remember = false } = {}) {
  if (!LANGUAGES.includes(code)) code = FALLBACK;
  const [cat, fb] = await Promise.all([
    loadCatalog(code),
    code === FALLBACK ? null : (Object.keys(fallbackCatalog).length ? fallbackCatalog : loadCatalog(FALLBACK)),
  ]);
  catalog = cat;
  fallbackCatalog = fb || cat;
  lang = code;
  plural = new Intl.PluralRules(code);
  document.documentElement.lang = code;
  if (remember) safeStorage()?.setItem(STORAGE_KEY, code);
  for (const fn of listeners) fn(code);
}

export function language() { return lang; }

// onLanguageChange calls fn after every switch; it returns a function that unsubscribes.
export function onLanguageChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

// t returns the message of key with {name} placeholders filled from params. A message may
// be an object of plural forms ({"one": …, "other": …}) chosen by params.count with the
// language's plural rules. A missing key shows as the key itself, which the tests catch.
export function t(key, params = {}) {
  let msg = catalog[key] ?? fallbackCatalog[key];
  if (msg === undefined) {
    console.warn(`i18n: no message for ${key}`);
    return key;
  }
  if (typeof msg === 'object') {
    const form = plural.select(Number(params.count ?? 0));
    msg = msg[form] ?? msg.other;
  }
  return msg.replace(/\{(\w+)\}/g, (m, name) => {
    if (!(name in params)) return m;
    const v = params[name];
    return typeof v === 'number' ? formatNumber(v) : String(v);
  });
}

export function formatNumber(n) {
  return new Intl.NumberFormat(lang).format(n);
}

const UNITS = ['byte', 'kilobyte', 'megabyte', 'gigabyte', 'terabyte'];

// formatSize renders a byte count with the unit that keeps it short: 1,5 MB in German,
// 610 bytes. Units are decimal (1 kB = 1000 bytes), as file managers show them.
export function formatSize(bytes) {
  let v = Number(bytes) || 0;
  if (v < 1000) return t('size.bytes', { count: v });
  let i = 0;
  while (v >= 1000 && i < UNITS.length - 1) { v /= 1000; i++; }
  return new Intl.NumberFormat(lang, {
    style: 'unit', unit: UNITS[i], unitDisplay: 'short',
    maximumFractionDigits: i === 0 ? 0 : 1,
  }).format(v);
}

// formatDate renders an ISO date (the API's createdDate and modifiedDate) for the reader.
export function formatDate(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso ?? '');
  return new Intl.DateTimeFormat(lang, { dateStyle: 'medium', timeStyle: 'short' }).format(d);
}

// languageName names a locale code (en, de-CH, pt-BR) in the current language; the code
// itself when Intl does not know it.
export function languageName(code) {
  try {
    const name = new Intl.DisplayNames([lang], { type: 'language' }).of(code);
    return name && name !== code ? name : code;
  } catch {
    return code;
  }
}

// autonym names a UI language in itself (English, Deutsch), as language switchers do.
export function autonym(code) {
  try {
    return new Intl.DisplayNames([code], { type: 'language' }).of(code) ?? code;
  } catch {
    return code;
  }
}

// translate fills the static markup: data-i18n sets the text, data-i18n-aria-label and
// data-i18n-placeholder the attributes.
export function translate(root = document) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-aria-label]')) el.setAttribute('aria-label', t(el.dataset.i18nAriaLabel));
  for (const el of root.querySelectorAll('[data-i18n-placeholder]')) el.setAttribute('placeholder', t(el.dataset.i18nPlaceholder));
}
