// Helpers of the browser tests: Debian's Chromium driven by playwright-core, a watch on
// every page for CSP violations, script errors and requests that leave the server's
// origin, axe-core on every state, and screenshots.

import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);

export const env = {
  base: need('REFSTORE_URL'),
  account: need('REFSTORE_ACCOUNT'),
  pmKey: need('REFSTORE_PM_KEY'),
  readerKey: need('REFSTORE_READER_KEY'),
  samples: need('UI_SAMPLES'),
  out: need('UI_OUT'),
  chromium: process.env.CHROMIUM || '/usr/bin/chromium',
};

function need(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set; the tests are run by e2e/ui_test.go (go test ./e2e -run UI)`);
  return v;
}

// launch starts Chromium headless with a fresh, empty profile (Playwright makes a new
// user-data-dir for every launch).
export function launch() {
  return chromium.launch({
    executablePath: env.chromium,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

// Watched is a browser context with its page, and what the watch saw.
export class Watched {
  constructor(context, page) {
    this.context = context;
    this.page = page;
    this.problems = []; // CSP violations, script errors, foreign requests
    this.requests = []; // {url, method, range, fromWorker}
    this.responses = []; // {url, status, fromWorker}
  }

  // takeProblems returns what went wrong since the last call.
  takeProblems() {
    const p = this.problems;
    this.problems = [];
    return p;
  }

  async close() { await this.context.close(); }
}

// open creates a context (options: locale, permissions) with one watched page.
export async function open(browser, { locale = 'en-US', permissions = [] } = {}) {
  const context = await browser.newContext({
    locale,
    viewport: { width: 1280, height: 800 },
    acceptDownloads: true,
    serviceWorkers: 'allow',
    permissions,
  });
  const origin = new URL(env.base).origin;
  // CSP violations as the page itself sees them; the listener is added through the
  // DevTools protocol, which the page's CSP does not govern.
  await context.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__csp.push(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'} in ${e.sourceFile}:${e.lineNumber}`);
    });
  });
  const page = await context.newPage();
  // A listener from the start keeps Playwright's interception of file choosers on: it is
  // switched on asynchronously when the first listener comes, so a chooser opened by a key
  // press right after page.waitForEvent('filechooser') could otherwise open for real.
  page.on('filechooser', () => {});
  const w = new Watched(context, page);
  page.on('console', (m) => {
    const text = m.text();
    if (/Content.Security.Policy|Refused to/i.test(text)) w.problems.push(`CSP (console): ${text}`);
    else if (m.type() === 'error' && !/^Failed to load resource: the server responded with a status of (401|403|404)/.test(text)) {
      w.problems.push(`console error: ${text}`);
    }
  });
  page.on('pageerror', (e) => w.problems.push(`page error: ${e.message}`));
  context.on('request', (r) => {
    const u = r.url();
    if (/^https?:/.test(u) && new URL(u).origin !== origin) w.problems.push(`request to another origin: ${u}`);
    w.requests.push({ url: u, method: r.method(), range: r.headers().range || '', fromWorker: Boolean(r.serviceWorker()) });
  });
  context.on('response', (r) => {
    w.responses.push({ url: r.url(), status: r.status(), fromWorker: r.fromServiceWorker() });
  });
  return w;
}

// cspViolations reads what the page's securitypolicyviolation listener collected.
export async function cspViolations(page) {
  return page.evaluate(() => (window.__csp || []).splice(0));
}

// leftovers finds text that should never show: a message placeholder left unfilled, or a
// value written out as null, undefined or [object Object].
export async function leftovers(page) {
  const text = await page.evaluate(() => document.body.innerText);
  return [...new Set(text.match(/\{\w+\}|\bnull\b|\bundefined\b|\[object \w+\]|\bNaN\b/g) || [])];
}

// checkClean fails on any CSP violation, script error or foreign request seen so far, and
// on leftovers in the page's text.
export async function checkClean(w, assert) {
  const csp = await cspViolations(w.page);
  const junk = await leftovers(w.page);
  const problems = [...w.takeProblems(), ...csp.map((c) => `CSP: ${c}`), ...junk.map((j) => `text shows ${j}`)];
  assert.deepEqual(problems, [], `the page reported problems:\n${problems.join('\n')}`);
}

// axe runs axe-core on the page as it is (dialogs open included) and fails on any serious
// or critical violation. The source is evaluated through the DevTools protocol, so the
// page's CSP (script-src 'self') does not stop it.
export async function axe(page, assert, label) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ')) }));
  });
  const bad = result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad, [], `axe found serious or critical violations on ${label}:\n${JSON.stringify(bad, null, 2)}`);
  return result;
}

// shot writes a screenshot of the page to the output directory.
export async function shot(page, name) {
  fs.mkdirSync(env.out, { recursive: true });
  await page.screenshot({ path: path.join(env.out, `${name}.png`) });
}

export function sample(name) {
  return path.join(env.samples, name);
}

// dropFiles drops files on an element the way a person's drag does: a DataTransfer holding
// File objects, in dragenter, dragover and drop events.
export async function dropFiles(page, selector, files) {
  const payload = files.map(({ name, type }) => ({ name, type, b64: fs.readFileSync(sample(name)).toString('base64') }));
  const dt = await page.evaluateHandle((list) => {
    const d = new DataTransfer();
    for (const f of list) {
      const bin = atob(f.b64);
      const bytes = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      d.items.add(new File([bytes], f.name, { type: f.type }));
    }
    return d;
  }, payload);
  for (const type of ['dragenter', 'dragover', 'drop']) {
    await page.dispatchEvent(selector, type, { dataTransfer: dt });
  }
  await dt.dispose();
}

// api calls the server directly (not through the page), for checks of what it holds.
export async function api(pathAndQuery, { token, method = 'GET', body } = {}) {
  const headers = { 'X-Auth-AccountId': env.account };
  if (token) headers['X-Auth-Token'] = token;
  if (body) headers['Content-Type'] = 'application/json';
  return fetch(env.base + pathAndQuery, { method, headers, body: body ? JSON.stringify(body) : undefined });
}

export async function login(key) {
  const res = await api('/api/auth/token', { method: 'POST', body: { accountid: env.account, key } });
  if (!res.ok) throw new Error(`login: ${res.status} ${await res.text()}`);
  return res.json();
}

// requestCount returns the value of refstore_http_requests_total for a route and status.
export async function requestCount(route, code) {
  const text = await (await fetch(`${env.base}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('refstore_http_requests_total{') &&
    l.includes(`code="${code}"`) && l.includes(`route="${route}"`));
  return line ? Number(line.trim().split(/\s+/).pop()) : 0;
}
