// How the page gets the bytes of assets, which need the auth headers. This is the one
// module that knows (docs/ui.md, "Media and the session"):
// - <video> and <audio> (and downloads) load the asset's URL themselves; the service
//   worker (/ui/sw.js) adds the headers, so seeking uses Range requests and 206 answers.
// - images are fetched with the headers and shown from blob: URLs, which works with or
//   without the worker; each view revokes its URLs when it goes.

import { getSession } from './session.js';
import { request, sameOriginPath } from './api.js';

let controlled = null;

// initMedia registers the service worker and answers its questions for the session. It
// resolves to true once the worker controls the page, false when there is none (an old
// browser, or a private mode without workers): media then fall back to blob: URLs.
export function initMedia() {
  if (controlled) return controlled;
  if (!('serviceWorker' in navigator)) {
    controlled = Promise.resolve(false);
    return controlled;
  }
  navigator.serviceWorker.addEventListener('message', (e) => {
    if (e.data?.type !== 'refstore:session?' || !e.ports?.[0]) return;
    e.ports[0].postMessage(getSession());
  });
  navigator.serviceWorker.startMessages();
  controlled = navigator.serviceWorker.register('/ui/sw.js', { scope: '/', type: 'classic' })
    .then(() => navigator.serviceWorker.controller ? true : new Promise((resolve) => {
      const timer = setTimeout(() => resolve(Boolean(navigator.serviceWorker.controller)), 10000);
      navigator.serviceWorker.addEventListener('controllerchange', () => { clearTimeout(timer); resolve(true); }, { once: true });
    }))
    .catch((err) => {
      console.warn('service worker unavailable:', err);
      return false;
    });
  return controlled;
}

// streamURL returns a URL a <video>, <audio> or download link may load itself, or null
// when there is no service worker to add the headers.
export async function streamURL(asset) {
  return (await initMedia()) ? sameOriginPath(asset.downloadUrl) : null;
}

// BlobBag holds the blob: URLs of one view, so that leaving the view frees their bytes.
export class BlobBag {
  constructor() { this.urls = new Set(); this.controller = new AbortController(); }

  get signal() { return this.controller.signal; }

  // fetch loads path with the auth headers and returns a blob: URL of its bytes.
  async fetch(path) {
    const res = await request('GET', path, { signal: this.signal });
    const url = URL.createObjectURL(await res.blob());
    if (this.controller.signal.aborted) {
      URL.revokeObjectURL(url);
      throw new DOMException('view left', 'AbortError');
    }
    this.urls.add(url);
    return url;
  }

  revoke(url) {
    if (this.urls.delete(url)) URL.revokeObjectURL(url);
  }

  // release aborts the loads in flight and frees every URL.
  release() {
    this.controller.abort();
    for (const u of this.urls) URL.revokeObjectURL(u);
    this.urls.clear();
  }
}

// blobURL loads an asset's bytes into bag and returns their blob: URL.
export function blobURL(bag, asset) {
  return bag.fetch(sameOriginPath(asset.downloadUrl));
}

// downloadAsset saves an asset under its name, from GET /api/assets/{id}/download (always
// an attachment). With the worker, the browser streams the file to disk: a hidden frame
// navigates to the URL, and the page first hands the worker a ticket for it (a navigation
// names no tab to ask for the session; Chromium sends <a download> past the worker, a
// frame's navigation through it). A HEAD with the headers first turns a refusal into a
// message instead of a failed download. Without the worker, the bytes are fetched first.
export async function downloadAsset(asset) {
  const path = `/api/assets/${encodeURIComponent(asset.id)}/download`;
  if ((await initMedia()) && navigator.serviceWorker.controller) {
    await request('HEAD', path);
    if (await ticket(path)) {
      const frame = document.createElement('iframe');
      frame.hidden = true;
      frame.src = path;
      document.body.append(frame);
      setTimeout(() => frame.remove(), 60000);
      return;
    }
  }
  const res = await request('GET', path);
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = asset.name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

// ticket hands the worker the session for one download of path; true once it has it.
function ticket(path) {
  const worker = navigator.serviceWorker?.controller;
  const session = getSession();
  if (!worker || !session) return Promise.resolve(false);
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    const timer = setTimeout(() => resolve(false), 3000);
    channel.port1.onmessage = (e) => { clearTimeout(timer); resolve(e.data === true); };
    worker.postMessage({ type: 'refstore:download', path, session }, [channel.port2]);
  });
}
