// The web UI in a real browser: Debian's Chromium, driven by playwright-core, against a
// real refstore server that e2e/ui_test.go starts and fills with a catalog (pm has every
// right on project 7214, reader only read). The tests run in order and share the server's
// state: what one uploads, the next views, replaces or deletes. Every state is checked
// with axe-core, and every page for CSP violations, script errors and foreign requests.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  env, launch, open, checkClean, axe, shot, sample, dropFiles, api, login, requestCount,
} from './lib/browser.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const catalogs = {
  en: JSON.parse(fs.readFileSync(path.join(here, '../../ui/i18n/en.json'), 'utf8')),
  de: JSON.parse(fs.readFileSync(path.join(here, '../../ui/i18n/de.json'), 'utf8')),
};

const SCOPE = 'pr7214';
const SEGMENT = '27665601';
const SEGMENT_HASH = `#/s/${SCOPE}/${SEGMENT}`;
const T = { timeout: 120_000 };

let browser;
let pm; // the Watched context of the user with every right
let pmToken = '';

before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

async function signIn(w, key) {
  const { page } = w;
  await page.getByLabel('Account', { exact: true }).fill(env.account);
  await page.getByLabel('API key', { exact: true }).fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

async function openSegment(page) {
  await page.getByLabel('Project or job').fill(SCOPE);
  await page.getByLabel('Segment', { exact: true }).fill(SEGMENT);
  await page.getByRole('button', { name: 'Open', exact: true }).click();
  await page.getByRole('heading', { level: 1, name: `Segment ${SEGMENT}` }).waitFor();
  await page.locator('.summary:not(:has(.loading))').waitFor();
}

function card(page, name) {
  return page.locator(`.asset-card[data-name="${name}"]`);
}

async function listed() {
  const res = await api(`/api/resources/assets/${SEGMENT}/list?scope=${SCOPE}`, { token: await login(env.pmKey) });
  assert.equal(res.status, 200);
  return res.json();
}

// englishLeft returns the English messages (fixed parts of at least 5 characters that no
// German message has) found in the page's text, accessible names or titles.
async function englishLeft(page) {
  const text = await page.evaluate(() => {
    const parts = [document.body.innerText, document.title];
    for (const el of document.querySelectorAll('[aria-label], [title], [placeholder], [alt]')) {
      for (const a of ['aria-label', 'title', 'placeholder', 'alt']) if (el.getAttribute(a)) parts.push(el.getAttribute(a));
    }
    return parts.join('\n');
  });
  const flat = (cat) => Object.values(cat).flatMap((v) => (typeof v === 'object' ? Object.values(v) : [v]));
  const german = flat(catalogs.de).join('\n');
  const fragments = new Set();
  for (const msg of flat(catalogs.en)) {
    for (const f of msg.split(/\{\w+\}/)) {
      const s = f.trim().replace(/^[·,.:;()]+|[·,.:;()]+$/g, '').trim();
      if (s.length >= 5 && /[a-z]/i.test(s) && !german.includes(s)) fragments.add(s);
    }
  }
  return [...fragments].filter((f) => text.includes(f));
}

test('the sign-in page has labelled fields and passes axe', T, async () => {
  pm = await open(browser, { permissions: ['clipboard-read', 'clipboard-write'] });
  const { page } = pm;
  const res = await page.goto(env.base + '/');
  assert.equal(res.status(), 200);
  const csp = res.headers()['content-security-policy'];
  assert.match(csp, /script-src 'self'/);
  assert.match(csp, /frame-ancestors 'none'/);
  await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
  await assert.doesNotReject(page.getByLabel('Account', { exact: true }).waitFor());
  await assert.doesNotReject(page.getByLabel('API key', { exact: true }).waitFor());
  assert.equal(await page.getByLabel('API key', { exact: true }).getAttribute('type'), 'password');
  // The sign-in page puts the cursor in its first field.
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('name')), 'account');
  await axe(page, assert, 'the sign-in page');
  await shot(page, 'signin');
  await checkClean(pm, assert);
});

test('a wrong key shows the reason in words', T, async () => {
  const { page } = pm;
  await signIn(pm, 'not-the-key');
  const alert = page.getByRole('alert');
  await alert.getByText('The account or the API key is not right').waitFor();
  const text = await alert.innerText();
  assert.doesNotMatch(text, /[{}]|invalid_key|"reason"/, `the error is shown as data: ${text}`);
  assert.equal(await page.getByLabel('API key', { exact: true }).getAttribute('aria-invalid'), 'true');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('refstore.session')), null);
  await axe(page, assert, 'the sign-in page with an error');
  await shot(page, 'signin-error');
  await checkClean(pm, assert);
});

test('sign in: the token stays in sessionStorage, never in a URL', T, async () => {
  const { page } = pm;
  await signIn(pm, env.pmKey);
  await page.getByRole('heading', { level: 1, name: 'Reference files' }).waitFor();
  const stored = await page.evaluate(() => ({
    session: JSON.parse(sessionStorage.getItem('refstore.session')),
    local: JSON.stringify({ ...localStorage }),
  }));
  pmToken = stored.session.token;
  assert.equal(stored.session.account, env.account);
  assert.match(pmToken, /\S{16,}/);
  assert.ok(!stored.local.includes(pmToken), 'the token is in localStorage');
  assert.ok(!page.url().includes(pmToken), 'the token is in the page URL');
  await page.getByText(`Signed in to ${env.account}`).waitFor();
  await axe(page, assert, 'the start page');
  await shot(page, 'home');
  await checkClean(pm, assert);
});

test('browse to a segment by project and segment id', T, async () => {
  const { page } = pm;
  // A bad scope is explained, not sent.
  await page.getByLabel('Project or job').fill('project 7214');
  await page.getByLabel('Segment', { exact: true }).fill(SEGMENT);
  await page.getByRole('button', { name: 'Open', exact: true }).click();
  await page.getByRole('alert').getByText('Write “pr” and the project number').waitFor();
  await openSegment(page);
  assert.ok(page.url().endsWith(SEGMENT_HASH), page.url());
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), `Segment ${SEGMENT}`);
  await page.locator('.summary').getByText('0 files').waitFor();
  await page.getByRole('heading', { name: 'Upload files' }).waitFor();
  await axe(page, assert, 'an empty segment');
  await checkClean(pm, assert);
});

test('upload an image, a PDF and a video by drag and drop, and an image with the file picker', T, async () => {
  const { page } = pm;
  await page.getByLabel('Language (locale)').fill('en');
  await page.getByLabel('Folder (optional)').fill('screens');
  await dropFiles(page, '[data-testid=dropzone]', [
    { name: 'login-screen.png', type: 'image/png' },
    { name: 'style-guide.pdf', type: 'application/pdf' },
  ]);
  await page.locator('.upload-item.done[data-file="login-screen.png"]').waitFor();
  await page.locator('.upload-item.done[data-file="style-guide.pdf"]').waitFor();
  await page.getByLabel('Folder (optional)').fill('videos');
  await dropFiles(page, '[data-testid=dropzone]', [{ name: 'walkthrough.webm', type: 'video/webm' }]);
  await page.locator('.upload-item.done[data-file="walkthrough.webm"]').waitFor({ timeout: 60_000 });

  // The file picker, opened by its label: the way without dragging.
  await page.getByLabel('Language (locale)').fill('de');
  await page.getByLabel('Folder (optional)').fill('');
  const chooser = page.waitForEvent('filechooser');
  await page.locator('label', { hasText: 'Choose files' }).click();
  await (await chooser).setFiles(sample('startseite.png'));
  await page.locator('.upload-item.done[data-file="startseite.png"]').waitFor();

  // The same name at the same place again replaces the file, and the list says so.
  await page.getByLabel('Language (locale)').fill('en');
  await page.getByLabel('Folder (optional)').fill('/screens/');
  await dropFiles(page, '[data-testid=dropzone]', [{ name: 'login-screen.png', type: 'image/png' }]);
  await page.locator('.upload-item[data-file="login-screen.png"]').getByText('Done: it replaced the file of the same name').waitFor();

  // Every file had its progress bar, and each is full.
  const bars = await page.locator('.upload-item progress').evaluateAll((els) => els.map((e) => [e.value, e.max]));
  assert.equal(bars.length, 5);
  for (const [v, max] of bars) assert.equal(v, max);

  await page.locator('.summary').getByText('4 files').waitFor();
  for (const h of ['English (en)', 'German (de)']) await page.getByRole('heading', { level: 2, name: h }).waitFor();
  for (const h of ['screens', 'videos']) await page.getByRole('heading', { level: 3, name: h }).waitFor();
  const img = card(page, 'login-screen.png').locator('.thumb img');
  await page.waitForFunction((el) => el.complete && el.naturalWidth > 0, await img.elementHandle());
  assert.equal(await img.evaluate((el) => el.naturalWidth), 640);
  assert.match(await img.getAttribute('src'), /^blob:/);
  await card(page, 'style-guide.pdf').getByText('PDF', { exact: true }).waitFor();
  await card(page, 'walkthrough.webm').getByText('Video', { exact: true }).waitFor();

  const assets = await listed();
  const byName = Object.fromEntries(assets.map((a) => [a.name, a]));
  assert.deepEqual(Object.keys(byName).sort(), ['login-screen.png', 'startseite.png', 'style-guide.pdf', 'walkthrough.webm']);
  assert.equal(byName['login-screen.png'].locale, 'en');
  assert.equal(byName['login-screen.png'].relativePath, 'screens');
  assert.equal(byName['walkthrough.webm'].relativePath, 'videos');
  assert.equal(byName['startseite.png'].locale, 'de');
  assert.equal(byName['walkthrough.webm'].size, fs.statSync(sample('walkthrough.webm')).size);
  await page.evaluate(() => window.scrollTo(0, 0));
  await axe(page, assert, 'the segment page with uploads');
  await shot(page, 'segment');
  await checkClean(pm, assert);
});

test('errors read as sentences in the UI language, the server reason when there is none', T, async () => {
  const { page } = pm;
  const said = await page.evaluate(async () => {
    const { describe } = await import('/ui/js/errors.js');
    const { ApiError } = await import('/ui/js/api.js');
    const e = (o) => describe(new ApiError(o));
    return {
      retry: e({ status: 429, code: 'rate_limited', retryAfter: 30 }),
      retryOne: e({ status: 429, code: 'rate_limited', retryAfter: 1 }),
      quota: e({ status: 507, code: 'quota_exceeded', reason: 'The account quota of 10 GiB would be exceeded.' }),
      large: e({ status: 413, code: 'too_large' }),
      internal: e({ status: 500, code: 'internal', reason: 'Internal error (request id abc123).' }),
      param: e({ status: 400, code: 'invalid_parameter', reason: 'The parameter locale is invalid: "e n".' }),
      other: e({ status: 409, code: 'conflict', reason: 'Another upload of this name is in progress.' }),
      network: e({ code: 'network' }),
    };
  });
  assert.deepEqual(said.retry, { message: 'Too many requests. Please try again in 30 seconds.', detail: '' });
  assert.equal(said.retryOne.message, 'Too many requests. Please try again in 1 second.');
  assert.match(said.quota.message, /^Your account's storage is full/);
  assert.equal(said.large.message, 'The file is too large for this server.');
  assert.equal(said.internal.detail, 'Internal error (request id abc123).');
  assert.deepEqual(said.param, { message: 'The server did not accept the request.', detail: 'The parameter locale is invalid: "e n".' });
  assert.equal(said.other.message, 'Another upload of this name is in progress.');
  assert.match(said.network.message, /^The server cannot be reached/);
  await checkClean(pm, assert);
});

test('the image viewer zooms, and closes back to its thumbnail', T, async () => {
  const { page } = pm;
  const thumb = page.getByRole('button', { name: 'Open login-screen.png' });
  await thumb.click();
  const dialog = page.getByRole('dialog', { name: 'login-screen.png' });
  await dialog.waitFor();
  const img = dialog.locator('img.zoomable');
  await page.waitForFunction((el) => el.complete && el.naturalWidth > 0, await img.elementHandle());
  await dialog.getByText('Fitted to the window').waitFor();
  await dialog.getByRole('button', { name: 'Actual size' }).click();
  assert.equal(await img.evaluate((el) => el.getBoundingClientRect().width), 640);
  await dialog.getByRole('button', { name: 'Zoom in' }).click();
  assert.equal(await img.evaluate((el) => el.getBoundingClientRect().width), 960);
  await dialog.locator('.zoom-frame').focus();
  await page.keyboard.press('-');
  assert.equal(await img.evaluate((el) => el.getBoundingClientRect().width), 640);
  await page.keyboard.press('0');
  await dialog.getByText('Fitted to the window').waitFor();
  await axe(page, assert, 'the image viewer');
  await shot(page, 'viewer-image');
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Open login-screen.png');
  await checkClean(pm, assert);
});

test('the video plays from the server and seeks with 206 responses', T, async () => {
  const { page } = pm;
  const route = 'GET /api/resources/assets/{segmentid}';
  const before206 = await requestCount(route, 206);
  const seen = pm.requests.length;
  const seenResponses = pm.responses.length;
  await page.getByRole('button', { name: 'Open walkthrough.webm' }).click();
  const dialog = page.getByRole('dialog', { name: 'walkthrough.webm' });
  const video = dialog.locator('video');
  await video.waitFor();
  assert.match(await video.getAttribute('src'), /^\/api\/resources\/assets\/27665601\?.*filename=walkthrough\.webm/);
  await page.waitForFunction(() => document.querySelector('dialog video')?.readyState >= 1, null, { timeout: 30_000 });
  const duration = await video.evaluate((el) => el.duration);
  assert.ok(duration > 8, `duration ${duration}`);
  const target = duration - 2;
  await video.evaluate((el, t) => { el.currentTime = t; }, target);
  await page.waitForFunction((t) => {
    const el = document.querySelector('dialog video');
    return el && !el.seeking && el.currentTime >= t - 0.5;
  }, target, { timeout: 30_000 });
  await video.evaluate((el) => el.play().catch(() => {}));
  await page.waitForFunction((t) => document.querySelector('dialog video')?.currentTime > t + 0.2, target, { timeout: 30_000 });
  const current = await video.evaluate((el) => el.currentTime);
  assert.ok(current > target, `currentTime ${current} did not move past ${target}`);

  const mine = (u) => u.includes('filename=walkthrough.webm');
  const responses = pm.responses.slice(seenResponses).filter((r) => mine(r.url));
  const requests = pm.requests.slice(seen).filter((r) => mine(r.url));
  assert.ok(responses.some((r) => r.status === 206 && r.fromWorker), `no 206 served to the page: ${JSON.stringify(responses)}`);
  const ranges = requests.filter((r) => r.fromWorker).map((r) => r.range);
  assert.ok(ranges.length > 0, 'the service worker fetched nothing');
  assert.ok(ranges.every((r) => /^bytes=\d+-\d*$/.test(r)), `ranges ${ranges}`);
  assert.ok(ranges.some((r) => Number(/^bytes=(\d+)-/.exec(r)[1]) > 0), `no range past the start: ${ranges}`);
  assert.ok(requests.every((r) => !r.url.includes(pmToken)), 'the token is in a media URL');
  const after206 = await requestCount(route, 206);
  assert.ok(after206 > before206, `the server counted no 206 (${before206} → ${after206})`);
  console.log(`# video: ${ranges.length} range requests through the worker (${ranges.join(', ')}); server 206s ${before206} → ${after206}; currentTime ${current.toFixed(2)} of ${duration.toFixed(2)}`);
  await video.evaluate((el) => el.pause());
  await axe(page, assert, 'the video viewer');
  await shot(page, 'viewer-video');
  await dialog.getByRole('button', { name: 'Close' }).click();
  await dialog.waitFor({ state: 'detached' });
  await checkClean(pm, assert);
});

test('a PDF opens in a tab of its own from the viewer, and downloads keep their bytes', T, async () => {
  const { page } = pm;
  await page.getByRole('button', { name: 'Open style-guide.pdf' }).click();
  const dialog = page.getByRole('dialog', { name: 'style-guide.pdf' });
  await dialog.getByRole('button', { name: 'Open PDF' }).waitFor();
  await axe(page, assert, 'the PDF viewer');
  const popup = page.waitForEvent('popup');
  await dialog.getByRole('button', { name: 'Open PDF' }).click();
  const tab = await popup;
  await tab.waitForURL(/^blob:/);
  assert.equal(await tab.evaluate(() => document.contentType), 'application/pdf');
  await tab.close();
  const download = page.waitForEvent('download');
  await dialog.getByRole('button', { name: 'Download' }).click();
  const d = await download;
  assert.equal(d.suggestedFilename(), 'style-guide.pdf');
  assert.deepEqual(fs.readFileSync(await d.path()), fs.readFileSync(sample('style-guide.pdf')));
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
  await checkClean(pm, assert);
});

test('copy link puts the download URL on the clipboard', T, async () => {
  const { page } = pm;
  await card(page, 'login-screen.png').getByRole('button', { name: 'Copy link' }).click();
  await page.locator('#announcer').getByText('The link to login-screen.png is copied.').waitFor();
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  const asset = (await listed()).find((a) => a.name === 'login-screen.png');
  assert.equal(copied, asset.downloadUrl);
  await checkClean(pm, assert);
});

test('replace an image: the thumbnail changes', T, async () => {
  const { page } = pm;
  const img = () => card(page, 'login-screen.png').locator('.thumb img');
  const oldVersion = await img().getAttribute('data-version');
  const chooser = page.waitForEvent('filechooser');
  await card(page, 'login-screen.png').getByRole('button', { name: 'Replace' }).click();
  await (await chooser).setFiles(sample('login-screen-v2.png'));
  await page.waitForFunction((old) => {
    const el = document.querySelector('.asset-card[data-name="login-screen.png"] .thumb img');
    return el && el.dataset.version !== old && el.complete && el.naturalWidth > 0;
  }, oldVersion, { timeout: 30_000 });
  assert.equal(await img().evaluate((el) => el.naturalWidth), 800);
  await page.locator('#announcer').getByText('login-screen.png is replaced.').waitFor();
  const asset = (await listed()).find((a) => a.name === 'login-screen.png');
  assert.equal(asset.size, fs.statSync(sample('login-screen-v2.png')).size);
  assert.equal(asset.relativePath, 'screens');
  await checkClean(pm, assert);
});

test('delete asks first, and Cancel keeps the file', T, async () => {
  const { page } = pm;
  const del = card(page, 'style-guide.pdf').getByRole('button', { name: 'Delete' });
  await del.click();
  let dialog = page.getByRole('dialog', { name: 'Delete this file?' });
  await dialog.getByText('style-guide.pdf (English › screens) will be deleted').waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Cancel');
  await axe(page, assert, 'the delete confirmation');
  await shot(page, 'delete-confirm');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await dialog.waitFor({ state: 'detached' });
  assert.equal(await del.evaluate((el) => el === document.activeElement), true);
  assert.equal((await listed()).length, 4);

  await del.click();
  dialog = page.getByRole('dialog', { name: 'Delete this file?' });
  await dialog.getByRole('button', { name: 'Delete' }).click();
  await card(page, 'style-guide.pdf').waitFor({ state: 'detached' });
  await page.locator('.summary').getByText('3 files').waitFor();
  await page.locator('#announcer').getByText('style-guide.pdf is deleted.').waitFor();
  assert.deepEqual((await listed()).map((a) => a.name).sort(), ['login-screen.png', 'startseite.png', 'walkthrough.webm']);
  await checkClean(pm, assert);
});

test('the keyboard reaches everything: skip link, thumbnails, viewer, file picker', T, async () => {
  const { page } = pm;
  await page.reload();
  await page.getByRole('heading', { level: 1, name: `Segment ${SEGMENT}` }).waitFor();
  await page.locator('.asset-card .thumb img').first().waitFor();
  // The skip link is the first stop of Tab, and moves the focus to the content.
  assert.equal(await page.evaluate(() => document.querySelector('a[href], button, input, select')?.className), 'skip-link');
  await page.locator('.skip-link').focus();
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.activeElement?.id === 'main');
  // Tab on until the thumbnail of the video, then open it with Enter.
  let found = false;
  for (let i = 0; i < 60 && !found; i++) {
    await page.keyboard.press('Tab');
    found = await page.evaluate(() => document.activeElement?.textContent.startsWith('Open walkthrough.webm'));
  }
  assert.ok(found, 'Tab never reached the thumbnail of walkthrough.webm');
  await page.keyboard.press('Enter');
  const dialog = page.getByRole('dialog', { name: 'walkthrough.webm' });
  await dialog.waitFor();
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
  await page.waitForFunction(() => document.activeElement?.textContent.startsWith('Open walkthrough.webm'));
  // The file picker opens from the keyboard: Tab reaches it, Enter opens it.
  const choose = page.getByRole('button', { name: 'Choose files' });
  assert.equal(await choose.evaluate((el) => el.type), 'file');
  await choose.focus();
  assert.ok(await choose.evaluate((el) => el === document.activeElement));
  const chooser = page.waitForEvent('filechooser', { timeout: 10_000 });
  await page.keyboard.press('Enter');
  assert.ok(await chooser);
  await checkClean(pm, assert);
});

test('German: the browser language is followed, nothing stays English, and the switch is kept', T, async () => {
  const de = await open(browser, { locale: 'de-DE' });
  const { page } = de;
  try {
    await page.goto(env.base + '/' + SEGMENT_HASH);
    await page.getByRole('heading', { level: 1, name: 'Anmelden' }).waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'de');
    assert.deepEqual(await englishLeft(page), [], 'English on the German sign-in page');
    await page.getByLabel('Konto', { exact: true }).fill(env.account);
    await page.getByLabel('API-Schlüssel', { exact: true }).fill('falsch');
    await page.getByRole('button', { name: 'Anmelden' }).click();
    await page.getByRole('alert').getByText('Das Konto oder der API-Schlüssel stimmt nicht').waitFor();
    await axe(page, assert, 'the German sign-in page with an error');
    await page.getByLabel('API-Schlüssel', { exact: true }).fill(env.pmKey);
    await page.getByRole('button', { name: 'Anmelden' }).click();
    // Signing in returns to the segment the link named.
    await page.getByRole('heading', { level: 1, name: `Segment ${SEGMENT}` }).waitFor();
    await page.locator('.summary').getByText('3 Dateien').waitFor();
    await page.getByRole('heading', { level: 2, name: 'Englisch (en)' }).waitFor();
    await page.locator('.asset-card .thumb img').first().waitFor();
    // Dates and sizes in German: 03.12.2026, 14:05 and 6,4 MB.
    const info = await card(page, 'walkthrough.webm').locator('.asset-info').innerText();
    assert.match(info, /\d{2}\.\d{2}\.\d{4}, \d{2}:\d{2}/, info);
    const size = fs.statSync(sample('walkthrough.webm')).size;
    const mb = new Intl.NumberFormat('de', { style: 'unit', unit: 'megabyte', unitDisplay: 'short', maximumFractionDigits: 1 }).format(size / 1e6);
    assert.ok(info.includes(mb), `${info} does not show the size as ${mb}`);
    assert.deepEqual(await englishLeft(page), [], 'English on the German segment page');
    await axe(page, assert, 'the German segment page');
    await shot(page, 'segment-de');
    await page.getByRole('button', { name: 'walkthrough.webm öffnen' }).click();
    const viewer = page.getByRole('dialog', { name: 'walkthrough.webm' });
    await viewer.locator('video').waitFor();
    assert.deepEqual(await englishLeft(page), [], 'English in the German viewer');
    await page.keyboard.press('Escape');
    await card(page, 'startseite.png').getByRole('button', { name: 'Löschen' }).click();
    const confirm = page.getByRole('dialog', { name: 'Diese Datei löschen?' });
    await confirm.waitFor();
    assert.deepEqual(await englishLeft(page), [], 'English in the German confirmation');
    await confirm.getByRole('button', { name: 'Abbrechen' }).click();

    // The switch: English now, and after a reload too (localStorage keeps the choice).
    await page.getByLabel('Sprache', { exact: true }).selectOption('en');
    await page.getByRole('heading', { level: 2, name: 'English (en)' }).waitFor();
    assert.equal(await page.evaluate(() => localStorage.getItem('refstore.lang')), 'en');
    await page.reload();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    await page.getByLabel('Language', { exact: true }).selectOption('de');
    await page.getByRole('button', { name: 'Abmelden' }).waitFor();
    await checkClean(de, assert);
  } finally {
    await de.close();
  }
});

test('a reader sees the files but no upload, replace or delete control', T, async () => {
  const reader = await open(browser);
  const { page } = reader;
  try {
    await page.goto(env.base + '/');
    await signIn(reader, env.readerKey);
    await page.getByRole('heading', { level: 1, name: 'Reference files' }).waitFor();
    await openSegment(page);
    await page.locator('.summary').getByText('3 files').waitFor();
    await card(page, 'walkthrough.webm').getByRole('button', { name: 'Download' }).waitFor();
    await page.locator('.asset-card .thumb img').first().waitFor();
    for (const name of ['Replace', 'Delete', 'Choose files']) {
      assert.equal(await page.getByRole('button', { name }).count(), 0, `a reader is offered ${name}`);
    }
    assert.equal(await page.getByRole('heading', { name: 'Upload files' }).count(), 0);
    assert.equal(await page.locator('[data-testid=dropzone], input[type=file]').count(), 0);
    await axe(page, assert, 'the segment page of a reader');
    await shot(page, 'segment-readonly');
    // The reader may view and seek too.
    await page.getByRole('button', { name: 'Open walkthrough.webm' }).click();
    await page.waitForFunction(() => document.querySelector('dialog video')?.readyState >= 1, null, { timeout: 30_000 });
    await page.keyboard.press('Escape');
    // A session that ends elsewhere (expired, or ended by another client) brings the
    // sign-in page back, with a note, at the next call.
    const token = await page.evaluate(() => JSON.parse(sessionStorage.getItem('refstore.session')).token);
    assert.equal((await api('/api/auth/token', { token, method: 'DELETE' })).status, 200);
    await page.getByRole('link', { name: 'Start', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Reference files' }).waitFor();
    await page.getByLabel('Project or job').fill(SCOPE);
    await page.getByLabel('Segment', { exact: true }).fill(SEGMENT);
    await page.getByRole('button', { name: 'Open', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
    await page.getByText('Your session has ended. Please sign in again.').waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);
    // Signing in again returns to the segment.
    await signIn(reader, env.readerKey);
    await page.getByRole('heading', { level: 1, name: `Segment ${SEGMENT}` }).waitFor();
    await checkClean(reader, assert);
  } finally {
    await reader.close();
  }
});

test('sign out ends the session on the server and forgets it in the tab', T, async () => {
  const { page } = pm;
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
  await page.getByText('You are signed out.').waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.length), 0);
  const res = await api(`/api/resources/assets/${SEGMENT}/list?scope=${SCOPE}`, { token: pmToken });
  assert.equal(res.status, 401, 'the token still works after sign-out');
  // A deep link now asks to sign in.
  await page.goto(env.base + '/' + SEGMENT_HASH);
  await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
  await axe(page, assert, 'the sign-in page after sign-out');
  // No request of the whole run carried the token in its URL.
  assert.ok(pm.requests.every((r) => !r.url.includes(pmToken)), 'a request URL holds the token');
  await checkClean(pm, assert);
  await pm.close();
});
