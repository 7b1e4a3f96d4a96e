// The segments opened in this tab, newest first, for the start page. Kept with the
// session in sessionStorage: ids of a customer's projects are not left behind in the browser.

const KEY = 'refstore.recent';
const MAX = 8;

export function recentSegments() {
  try {
    const v = JSON.parse(sessionStorage.getItem(KEY) || '[]');
    return Array.isArray(v) ? v.filter((r) => r && typeof r.scope === 'string' && typeof r.segment === 'string') : [];
  } catch {
    return [];
  }
}

export function rememberSegment(scope, segment) {
  const list = recentSegments().filter((r) => !(r.scope === scope && r.segment === segment));
  list.unshift({ scope, segment });
  sessionStorage.setItem(KEY, JSON.stringify(list.slice(0, MAX)));
}
