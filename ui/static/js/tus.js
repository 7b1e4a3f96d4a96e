// Resumable uploads of large files with tus-js-client (vendored, /ui/vendor/tus.min.js),
// against the server's tus endpoint (/api/media/tus/) once it has one. upload.js calls
// useResumable(file) to choose, and uploadResumable for the files it picks; today the
// server has no tus endpoint, so every file goes through media upload.

import { authHeaders } from './session.js';
import { ApiError } from './api.js';

export const TUS_ENDPOINT = '/api/media/tus/';
// Files from this size on go through tus when the server offers it.
export const RESUMABLE_FROM = 64 * 1024 * 1024;

let serverOffersTus = false; // set by enableResumable when the server announces the route

// enableResumable turns resumable uploads on (the later task calls it when the server
// announces the tus endpoint, e.g. in OPTIONS /api/media/tus/ with Tus-Resumable).
export function enableResumable(on) { serverOffersTus = Boolean(on); }

export function useResumable(file) {
  return serverOffersTus && file.size >= RESUMABLE_FROM;
}

let loading = null;

// loadTus adds the vendored bundle (a classic script that defines window.tus) once.
function loadTus() {
  if (window.tus) return Promise.resolve(window.tus);
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      const s = document.createElement('script');
      s.src = '/ui/vendor/tus.min.js';
      s.onload = () => resolve(window.tus);
      s.onerror = () => reject(new Error('tus-js-client did not load'));
      document.head.append(s);
    });
  }
  return loading;
}

// uploadResumable uploads file with tus and resolves to {token, name} like media upload.
// The file token is expected in a response header, Refstore-File-Token (to be settled when
// the endpoint is built).
export async function uploadResumable(file, { name, onProgress, signal } = {}) {
  const tus = await loadTus();
  return new Promise((resolve, reject) => {
    const upload = new tus.Upload(file, {
      endpoint: TUS_ENDPOINT,
      headers: authHeaders(),
      metadata: { filename: name || file.name, filetype: file.type || '' },
      chunkSize: 16 * 1024 * 1024,
      retryDelays: [0, 1000, 3000, 10000],
      removeFingerprintOnSuccess: true,
      onProgress: (sent, total) => onProgress?.(sent, total),
      onError: (err) => reject(new ApiError({ status: err?.originalResponse?.getStatus?.() || 0, code: 'network', reason: String(err?.message || err) })),
      onAfterResponse: (req, res) => {
        const token = res.getHeader('Refstore-File-Token');
        if (token) upload.refstoreToken = token;
      },
      onSuccess: () => resolve({ token: upload.refstoreToken, name: name || file.name }),
    });
    signal?.addEventListener('abort', () => { upload.abort(true); reject(new DOMException('aborted', 'AbortError')); }, { once: true });
    upload.findPreviousUploads().then((previous) => {
      if (previous.length) upload.resumeFromPreviousUpload(previous[0]);
      upload.start();
    });
  });
}
