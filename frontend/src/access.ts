/**
 * A submission's access token: the submit response hands it over once, and reading the submission
 * (or following its stream) needs it. It travels in the progress page's URL fragment, which a browser
 * never sends to a server, so it lands in no access log; sessionStorage keeps it for the tab, so that
 * a link without the fragment still works there.
 */

const FRAGMENT_KEY = "token";
const STORAGE_PREFIX = "submission-token:";

/** The progress page of submission `id`, with its token in the fragment when there is one. */
export function submissionPagePath(id: string, token: string): string {
  const path = `/submissions/${encodeURIComponent(id)}`;
  return token ? `${path}#${new URLSearchParams({ [FRAGMENT_KEY]: token })}` : path;
}

/** The token in a location's hash ("#token=..."), or "" when it carries none. */
export function tokenFromFragment(hash: string): string {
  return new URLSearchParams(hash.replace(/^#/, "")).get(FRAGMENT_KEY)?.trim() ?? "";
}

// Storage can be switched off or full (private windows, strict settings): the token then lives in the
// fragment only, which is enough for the page that has it.
export function rememberToken(id: string, token: string): void {
  if (!token) return;
  try {
    sessionStorage.setItem(STORAGE_PREFIX + id, token);
  } catch {
    // see above
  }
}

export function recalledToken(id: string): string {
  try {
    return sessionStorage.getItem(STORAGE_PREFIX + id) ?? "";
  } catch {
    return "";
  }
}

/** The token for submission `id`: the fragment's first, then this tab's stored one; "" when neither. */
export function accessTokenFor(id: string, hash: string): string {
  return tokenFromFragment(hash) || recalledToken(id);
}
