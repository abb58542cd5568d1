// Signing in: a page opened from `classroom link` carries its token in the URL fragment
// (#token=...&lesson=...), which browsers never send to the server. The token is kept in this
// browser (localStorage, per page kind, so a classroom screen that reloads stays signed in) and
// removed from the address bar. A page also accepts a pasted token.

const PREFIX = "classroom.token.";

export function fragmentParams() {
  return new URLSearchParams(location.hash.replace(/^#/, ""));
}

// The token for this page kind: from the fragment (then kept and removed from the URL), else kept.
export function takeToken(kind) {
  const params = fragmentParams();
  const fromLink = params.get("token");
  if (fromLink) {
    keep(kind, fromLink);
    params.delete("token");
    const rest = params.toString();
    history.replaceState(null, "", location.pathname + location.search + (rest ? `#${rest}` : ""));
    return fromLink;
  }
  try { return localStorage.getItem(PREFIX + kind); } catch (_) { return null; }
}

export function keep(kind, token) {
  try { localStorage.setItem(PREFIX + kind, token); } catch (_) { /* this tab only */ }
}

export function forget(kind) {
  try { localStorage.removeItem(PREFIX + kind); } catch (_) { /* nothing kept */ }
}

// What the token says about its bearer (for display only: the server verifies every request).
export function claimsOf(token) {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const json = decodeURIComponent(Array.from(atob(payload), c => `%${c.charCodeAt(0).toString(16).padStart(2, "0")}`).join(""));
    const claims = JSON.parse(json);
    return {subject: claims.sub, role: claims.role, school: claims.school, lesson: claims.lesson, expires: claims.exp};
  } catch (_) {
    return null;
  }
}

export function expired(claims, now = Date.now() / 1000) {
  return !claims || typeof claims.expires !== "number" || claims.expires <= now;
}
