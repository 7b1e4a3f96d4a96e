// Pictures of assets: thumbnails in the segment's grid and, later, the pages of a PDF.
// The one place to wire the preview route (GET /api/assets/{id}/preview?width=320&page=N)
// when the server has it: thumbnailURL and pdfPageURL are its entry points.

import { blobURL } from './media.js';

export const THUMB_WIDTH = 320;

// kindOf sorts an asset into what the UI can show: image, video, audio, pdf or file.
export function kindOf(asset) {
  const ct = String(asset.contentType || '').toLowerCase();
  if (ct.startsWith('image/') && ct !== 'image/svg+xml') return 'image';
  if (ct.startsWith('video/')) return 'video';
  if (ct.startsWith('audio/')) return 'audio';
  if (ct === 'application/pdf') return 'pdf';
  return 'file';
}

// thumbnailURL resolves to a blob: URL of a picture of the asset (held by bag), or null when
// there is none and the grid shows the kind's badge instead. Today only images have one,
// from their own bytes; with the preview route, every kind the server can render will.
export async function thumbnailURL(bag, asset) {
  if (kindOf(asset) !== 'image') return null;
  return blobURL(bag, asset);
}

// pdfPageURL resolves to a blob: URL of page n (1-based) of a PDF asset, or null while the
// server has no preview route; the viewer then offers to open the PDF itself.
export async function pdfPageURL(bag, asset, n) { // eslint-disable-line no-unused-vars
  return null;
}

// previewsAvailable reports whether the server renders previews (later: a HEAD of the
// preview route); false today.
export async function previewsAvailable() {
  return false;
}

