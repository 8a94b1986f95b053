// The session of a browser app in bearer_auth's cookie mode.
//
// The access token lives in this closure only: no global, no localStorage or
// sessionStorage. The refresh token is an HttpOnly cookie on the API's origin
// that the browser sends to the token endpoints because every call to them
// has `credentials: "include"`; this code never sees it. The header
// `Refresh-Token-Delivery: cookie` asks for cookie mode and proves to the API
// that the request comes from a page the CORS allow-list let send it.
//
// Several tabs: each refreshes on its own (no lock between tabs; the API
// answers a refresh that lost a race within its reuse interval with 400
// invalid_grant and keeps the session), shares the newest access token with
// the others over a BroadcastChannel, retries a refused refresh once, and
// refreshes once on a 401 from the API.

/** How long before expiry the silent refresh runs: at most 30 s, a fifth of short lifetimes. */
const MARGIN_MAX_SECONDS = 30;
/** Wait before the one retry of a refresh answered 400 invalid_grant. */
export const RETRY_DELAY_MS = 500;
const COOKIE_MODE = { "Refresh-Token-Delivery": "cookie" };

/** An error answered by the API (RFC 6749 §5.2 JSON), or a network failure. */
export class ApiError extends Error {
  constructor(status, code, description) {
    super(description ? `${description} (${code})` : code);
    this.status = status;
    this.code = code;
    this.description = description;
  }
}

async function errorOf(response) {
  let body = {};
  try {
    body = await response.json();
  } catch {
    // Not JSON: the status line says enough.
  }
  const code = body.error || `HTTP ${response.status}`;
  return new ApiError(response.status, code, body.error_description || body.detail || "");
}

const sleep = (milliseconds) => new Promise((resolve) => setTimeout(resolve, milliseconds));

/**
 * A session against the API at `apiOrigin`. `onChange()` runs whenever the
 * access token changes; `log(message)` tells the person what happened.
 */
export function createSession(apiOrigin, { onChange, log }) {
  let accessToken = null;
  let expiresAt = 0; // milliseconds since the epoch
  let timer = null;
  let refreshing = null; // this tab's refresh in flight, shared by its callers
  const channel = new BroadcastChannel("bearer-auth-demo-spa");

  function schedule() {
    clearTimeout(timer);
    timer = null;
    if (!accessToken) return;
    const lifetime = expiresAt - Date.now();
    const margin = Math.min(MARGIN_MAX_SECONDS * 1000, lifetime / 5);
    // A little jitter, so that tabs holding the same token rarely refresh at once.
    const delay = Math.max(0, lifetime - margin - Math.random() * (margin / 2));
    timer = setTimeout(() => {
      log("Access token about to expire: refreshing silently.");
      refresh().catch((error) => onChange(error));
    }, delay);
  }

  function hold(token, expiry) {
    accessToken = token;
    expiresAt = expiry;
    schedule();
    onChange();
  }

  function adopt(answer) {
    hold(answer.access_token, Date.now() + answer.expires_in * 1000);
    channel.postMessage({ type: "token", accessToken, expiresAt });
  }

  function forget() {
    accessToken = null;
    expiresAt = 0;
    schedule();
    onChange();
  }

  channel.onmessage = ({ data }) => {
    if (data.type === "token" && data.expiresAt > expiresAt) {
      log("Another tab refreshed: using its new access token.");
      hold(data.accessToken, data.expiresAt);
    } else if (data.type === "signed-out" && accessToken) {
      log("Signed out in another tab.");
      forget();
    }
  };

  async function tokenRequest(path, body) {
    const response = await fetch(`${apiOrigin}${path}`, {
      method: "POST",
      credentials: "include",
      headers: body ? { ...COOKIE_MODE, "Content-Type": "application/json" } : COOKIE_MODE,
      body: body ? JSON.stringify(body) : undefined,
    });
    if (!response.ok) throw await errorOf(response);
    return response;
  }

  async function refreshOnce() {
    try {
      adopt(await (await tokenRequest("/auth/token/refresh/")).json());
    } catch (error) {
      if (!(error instanceof ApiError && error.code === "invalid_grant")) throw error;
      // Another tab may have rotated the cookie a moment ago: the browser's
      // jar now holds its successor. One retry, after a short wait.
      log(
        "Refresh answered 400 invalid_grant (no cookie, or another tab has just rotated it): " +
          `retrying once in ${RETRY_DELAY_MS} ms.`,
      );
      await sleep(RETRY_DELAY_MS);
      adopt(await (await tokenRequest("/auth/token/refresh/")).json());
    }
    log("Refreshed: a new access token in memory, the cookie rotated.");
  }

  /** Trade the refresh cookie for a new access token; on failure the session is over. */
  function refresh() {
    refreshing ??= refreshOnce()
      .catch((error) => {
        forget();
        throw error;
      })
      .finally(() => {
        refreshing = null;
      });
    return refreshing;
  }

  return {
    get signedIn() {
      return accessToken !== null;
    },
    /** What the token panel shows: never the whole token. */
    describe() {
      if (!accessToken) return null;
      return {
        preview: `${accessToken.slice(0, 6)}… (${accessToken.length} chars)`,
        expiresAt: new Date(expiresAt),
      };
    },

    async signIn(email, password) {
      adopt(await (await tokenRequest("/auth/token/", { email, password })).json());
      log("Signed in: the access token is in memory, the refresh token in an HttpOnly cookie.");
    },

    /** On page load: a refresh cookie from an earlier visit signs the person in again. */
    async resume() {
      try {
        await refresh();
        return true;
      } catch (error) {
        if (error instanceof ApiError && error.code === "invalid_grant") return false;
        throw error;
      }
    },

    refresh,

    async signOut() {
      try {
        await tokenRequest("/auth/token/revoke/");
        log("Signed out: the session is revoked and the cookie cleared.");
      } finally {
        forget();
        channel.postMessage({ type: "signed-out" });
      }
    },

    /** Call the API with the access token; on a 401, refresh once and call again. */
    async api(path, { method = "GET", body } = {}) {
      const send = () =>
        fetch(`${apiOrigin}${path}`, {
          method,
          credentials: "omit", // bearer only: the API's cookies are for the token endpoints
          headers: {
            Authorization: `Bearer ${accessToken}`,
            ...(body ? { "Content-Type": "application/json" } : {}),
          },
          body: body ? JSON.stringify(body) : undefined,
        });
      if (!accessToken) await refresh();
      let response = await send();
      if (response.status === 401) {
        log("The API answered 401: refreshing once and calling again.");
        await refresh();
        response = await send();
      }
      if (!response.ok) throw await errorOf(response);
      return response.status === 204 ? null : response.json();
    },
  };
}
