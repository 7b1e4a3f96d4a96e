// What the caller may do in a scope. The UI offers upload, replace and delete only where
// the caller has the right; the server checks every call anyway.

import { request } from './api.js';

const cache = new Map(); // scope → Promise of rights, for this page load and session

// scopeRights resolves to {read, upload, delete} for a scope (pr7214, jbs9927, jbc500),
// from GET /api/browse/scopes/{scope}. It rejects with the ApiError of an unknown scope
// (404) or one the caller may not read (403).
export function scopeRights(scope) {
  if (!cache.has(scope)) {
    const p = request('GET', `/api/browse/scopes/${encodeURIComponent(scope)}`)
      .then((res) => res.json())
      .then((body) => {
        const names = new Set(Array.isArray(body.rights) ? body.rights : []);
        return { read: names.has('read'), upload: names.has('upload'), delete: names.has('delete') };
      });
    p.catch(() => cache.delete(scope));
    cache.set(scope, p);
  }
  return cache.get(scope);
}

// forgetRights drops what is known, at sign-in and sign-out.
export function forgetRights() { cache.clear(); }
