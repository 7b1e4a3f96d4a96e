// The Wordbee-compatible API, as the UI uses it. Every call carries the session's
// X-Auth-Token and X-Auth-AccountId headers; failures become ApiError with the server's
// code and reason, which errors.js turns into words.

import { authHeaders } from './session.js';

// ApiError is a failed call: the HTTP status, the error code of the body (invalid_key,
// forbidden, …; "network" when no answer came), the server's reason and, on 429, the
// seconds after which to retry.
export class ApiError extends Error {
  constructor({ status = 0, code = 'unknown', reason = '', retryAfter = null }) {
    super(reason || code);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.reason = reason;
    this.retryAfter = retryAfter;
  }
}

let unauthorizedHandler = null;

// onUnauthorized sets what happens when a call finds the session gone (expired, or ended
// elsewhere): the app signs out locally and asks to sign in again.
export function onUnauthorized(fn) { unauthorizedHandler = fn; }

// errorFrom reads an error response: the Wordbee envelope ({reason, code}), the envelope
// of download-by-id ({code, msg}), or anything else (a proxy's page) by status alone.
export async function errorFrom(res) {
  let body = null;
  try { body = await res.json(); } catch { /* not JSON */ }
  const retry = res.headers.get('Retry-After');
  return new ApiError({
    status: res.status,
    code: (body && typeof body.code === 'string' && body.code) || `http_${res.status}`,
    reason: (body && (body.reason || body.msg)) || '',
    retryAfter: retry !== null && /^\d+$/.test(retry) ? Number(retry) : null,
  });
}

function networkError(err) {
  return new ApiError({ code: 'network', reason: String(err?.message || err) });
}

function checkSession(err, auth) {
  if (auth && err.status === 401 && err.code === 'unauthorized' && unauthorizedHandler) unauthorizedHandler(err);
  return err;
}

// request sends one call and returns the Response, or throws ApiError.
export async function request(method, path, { json, headers = {}, signal, auth = true } = {}) {
  const h = { ...(auth ? authHeaders() : {}), ...headers };
  let body;
  if (json !== undefined) {
    h['Content-Type'] = 'application/json';
    body = JSON.stringify(json);
  }
  let res;
  try {
    res = await fetch(path, { method, headers: h, body, signal, credentials: 'omit', cache: 'no-store' });
  } catch (err) {
    if (err?.name === 'AbortError') throw err;
    throw networkError(err);
  }
  if (!res.ok) throw checkSession(await errorFrom(res), auth);
  return res;
}

async function requestJSON(method, path, opts) {
  const res = await request(method, path, opts);
  return res.json();
}

function q(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') u.set(k, v);
  const s = u.toString();
  return s ? `?${s}` : '';
}

// login exchanges an account id and API key for a session token.
export function login(account, key) {
  return requestJSON('POST', '/api/auth/token', { json: { accountid: account, key }, auth: false });
}

// logout ends the session on the server. It is idempotent there.
export async function logout() {
  await request('DELETE', '/api/auth/token');
}

// listAssets lists a segment's assets in a scope (pr7214, jbs9927, jbc500).
export function listAssets(scope, segment) {
  return requestJSON('GET', `/api/resources/assets/${encodeURIComponent(segment)}/list${q({ scope })}`);
}

// attach places an uploaded file (its file token) at an address of the segment.
export function attach(scope, segment, { filetoken, locale, relativePath }) {
  return requestJSON('POST', `/api/resources/assets/${encodeURIComponent(segment)}${q({ scope })}`,
    { json: { filetoken, locale: locale || '', relativePath: relativePath || '' } });
}

// deleteAsset deletes one asset by its address.
export async function deleteAsset(scope, segment, asset) {
  await request('DELETE', `/api/resources/assets/${encodeURIComponent(segment)}${q({
    scope, filename: asset.name, locale: asset.locale || '', relativePath: asset.relativePath || '',
  })}`);
}

// uploadFile sends a file to media upload and resolves to {token, name}. XMLHttpRequest,
// not fetch, because only it reports upload progress: onProgress(sent, total). name, when
// given, replaces the file's own name (a replacement keeps the asset's name).
export function uploadFile(file, { name, onProgress, signal } = {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/api/media/upload${q({ filename: name })}`);
    for (const [k, v] of Object.entries(authHeaders())) xhr.setRequestHeader(k, v);
    xhr.responseType = 'text';
    xhr.upload.onprogress = (e) => { if (onProgress) onProgress(e.loaded, e.lengthComputable ? e.total : file.size); };
    xhr.onerror = () => reject(networkError(new Error('upload failed')));
    xhr.onabort = () => reject(new DOMException('aborted', 'AbortError'));
    xhr.onload = async () => {
      const res = new Response(xhr.responseText, {
        status: xhr.status,
        headers: { 'Content-Type': xhr.getResponseHeader('Content-Type') || '', 'Retry-After': xhr.getResponseHeader('Retry-After') || '' },
      });
      if (xhr.status < 200 || xhr.status >= 300) {
        reject(checkSession(await errorFrom(res), true));
        return;
      }
      try {
        const body = await res.json();
        resolve({ token: body.result.token, name: body.result.name });
      } catch (err) {
        reject(new ApiError({ status: xhr.status, code: 'bad_response', reason: String(err) }));
      }
    };
    if (signal) signal.addEventListener('abort', () => xhr.abort(), { once: true });
    const form = new FormData();
    form.append('file', file, name || file.name);
    xhr.send(form);
  });
}

// sameOriginPath turns an asset's absolute downloadUrl (built from the server's public
// URL, which may name a proxy) into a path on this page's origin: requests stay here,
// where the service worker adds the auth headers.
export function sameOriginPath(downloadUrl) {
  const u = new URL(downloadUrl, location.origin);
  return u.pathname + u.search;
}
