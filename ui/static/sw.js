// The service worker of refstore's web UI. It has one job: media elements (<video>,
// <audio>, <img>) and downloads cannot send the X-Auth-Token header that asset downloads
// need, so for those requests it asks the page that made them for its session and adds the
// headers. Range and the other headers pass through unchanged, so a <video> seeks with
// 206 responses straight from the server.
//
// The worker keeps no credentials: it asks the requesting tab each time (each tab has its
// own session in sessionStorage), and a tab that is signed out answers nothing. It touches
// only GET and HEAD of asset downloads on this origin.
//
// Downloads are the navigation of a hidden frame, which names no tab to ask; the page hands
// the worker a ticket (its session) for that one URL just before, and the ticket is used
// once or dropped after 30 s.

const MEDIA_PATHS = [
  /^\/api\/resources\/assets\/\d+$/,
  /^\/api\/apps\/wbflex\/documents\/[^/]+\/assets\/\d+$/,
  /^\/api\/assets\/[^/]+\/(?:download|preview)$/,
];

self.addEventListener('install', (event) => {
  event.waitUntil(self.skipWaiting());
});

self.addEventListener('activate', (event) => {
  event.waitUntil(self.clients.claim());
});

const TICKET_LIFE_MS = 30000;
const tickets = new Map(); // same-origin path → {session, expires}

self.addEventListener('message', (event) => {
  const m = event.data;
  if (m?.type !== 'refstore:download' || typeof m.path !== 'string' || !event.ports?.[0]) return;
  if (!m.path.startsWith('/') || !isMedia(new URL(m.path, self.location.origin).pathname) || !validSession(m.session)) return;
  tickets.set(m.path, { session: m.session, expires: Date.now() + TICKET_LIFE_MS });
  setTimeout(() => tickets.delete(m.path), TICKET_LIFE_MS);
  event.ports[0].postMessage(true);
});

self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET' && req.method !== 'HEAD') return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin || !isMedia(url.pathname)) return;
  if (req.headers.has('X-Auth-Token')) return; // the page's own fetches carry their headers
  if (req.mode === 'navigate') {
    const ticket = takeTicket(url.pathname + url.search);
    if (ticket) event.respondWith(withSession(req, ticket));
    return;
  }
  if (!event.clientId) return;
  event.respondWith(askClient(event.clientId).then((session) => withSession(req, session)));
});

function isMedia(pathname) {
  return MEDIA_PATHS.some((re) => re.test(pathname));
}

function validSession(s) {
  return Boolean(s) && typeof s.token === 'string' && typeof s.account === 'string';
}

function takeTicket(path) {
  const t = tickets.get(path);
  tickets.delete(path);
  return t && t.expires > Date.now() ? t.session : null;
}

async function withSession(req, session) {
  if (!session) return fetch(req); // not signed in: the server's 401 is the answer
  const headers = new Headers(req.headers);
  headers.set('X-Auth-Token', session.token);
  headers.set('X-Auth-AccountId', session.account);
  return fetch(req.url, {
    method: req.method,
    headers,
    mode: 'same-origin',
    credentials: 'omit',
    cache: 'no-store', // no asset bytes stay in the browser's cache after sign-out
    redirect: 'follow',
    signal: req.signal,
  });
}

// askClient asks a tab for its session over a private message channel; null when the tab
// is gone, signed out, or does not answer within 5 s.
async function askClient(clientId) {
  const client = await self.clients.get(clientId);
  if (!client) return null;
  const channel = new MessageChannel();
  const answer = new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), 5000);
    channel.port1.onmessage = (e) => {
      clearTimeout(timer);
      resolve(validSession(e.data) ? e.data : null);
    };
  });
  client.postMessage({ type: 'refstore:session?' }, [channel.port2]);
  return answer;
}
