// Errors in words a person understands. The common codes have a sentence of their own in
// each catalog; any other error shows the server's reason (refstore's reasons are written
// for people), never a JSON body.

import { t } from './i18n.js';

// The codes with a message of their own (catalog key error.<code>).
const KNOWN = new Set([
  'invalid_key', 'unauthorized', 'forbidden', 'not_found', 'scope_not_found', 'segment_not_found',
  'asset_not_found', 'file_token_invalid', 'too_large', 'quota_exceeded', 'storage_full',
  'rate_limited', 'request_timeout', 'unavailable', 'internal', 'network', 'unsupported_media',
]);

// describe returns {message, detail}: message in the UI's language, detail the server's
// own reason when it adds something (it names the parameter of an invalid request).
export function describe(err) {
  if (!err) return { message: t('error.unknown'), detail: '' };
  const code = err.code || 'unknown';
  if (code === 'rate_limited' && Number.isFinite(err.retryAfter)) {
    return { message: t('error.rate_limited_retry', { count: err.retryAfter }), detail: '' };
  }
  if (KNOWN.has(code)) {
    // Reasons of 5xx hold a request id an operator can look up.
    const detail = code === 'internal' || code === 'unavailable' ? err.reason || '' : '';
    return { message: t(`error.${code}`), detail };
  }
  if (code === 'invalid_parameter' || code === 'invalid_body') {
    return { message: t('error.invalid_request'), detail: err.reason || '' };
  }
  if (err.reason) return { message: err.reason, detail: '' };
  return { message: t('error.unknown'), detail: '' };
}
