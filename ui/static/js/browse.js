// Browsing what the caller may see: projects → documents → segments, with asset counts and
// search by segment id. The read routes are not there yet (GET /api/browse/scopes,
// /api/browse/documents?scope=, /api/browse/segments?scope=&documentId=&q=&skip=&take=);
// renderBrowse is the entry point the home page calls, and renders nothing until then.

// renderBrowse fills container with the caller's projects and jobs and returns true, or
// returns false when the server has no browse routes (the home page then offers the
// segment form alone).
export async function renderBrowse(container) { // eslint-disable-line no-unused-vars
  return false;
}
