// The signed-in session: account id and token, kept in the tab's sessionStorage only. It
// ends with the tab, is never put in a URL, and other tabs sign in on their own.

const KEY = 'refstore.session';

export function getSession() {
  try {
    const s = JSON.parse(sessionStorage.getItem(KEY) || 'null');
    return s && typeof s.token === 'string' && typeof s.account === 'string' ? s : null;
  } catch {
    return null;
  }
}

export function setSession(account, token) {
  sessionStorage.setItem(KEY, JSON.stringify({ account, token }));
}

// clearSession forgets the session and everything else the tab kept with it (the segments
// opened recently), so that the next person signing in here starts clean.
export function clearSession() {
  sessionStorage.clear();
}

// authHeaders are the headers of an authenticated Wordbee call.
export function authHeaders() {
  const s = getSession();
  return s ? { 'X-Auth-Token': s.token, 'X-Auth-AccountId': s.account } : {};
}
