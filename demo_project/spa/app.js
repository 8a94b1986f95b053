// The demo SPA's page: sign-in, the notes, the token panel and the log.
// The API's origin comes from the server that served this page (config.js).
import { API_ORIGIN } from "./config.js";
import { createSession } from "./session.js";

const $ = (id) => document.getElementById(id);

function log(message) {
  const item = document.createElement("li");
  item.textContent = `${new Date().toLocaleTimeString()} ${message}`;
  $("log").append(item);
}

function status(message) {
  $("status").textContent = message;
}

function showError(error) {
  $("error").textContent = error ? `Error: ${error.message}` : "";
  $("error").hidden = !error;
  if (error) log(`Error: ${error.message}`);
}

const session = createSession(API_ORIGIN, { onChange: render, log });
let resumed = false; // nothing but the status shows until the page-load refresh has answered
let shownSignedIn = null;

function render(error) {
  if (error) showError(error);
  renderTokens();
  if (!resumed) return;
  const signedIn = session.signedIn;
  $("sign-in").hidden = signedIn;
  $("notes").hidden = !signedIn;
  $("refresh-now").disabled = !signedIn;
  if (signedIn !== shownSignedIn) {
    shownSignedIn = signedIn;
    if (signedIn) {
      status("Signed in.");
      loadAccount();
    } else {
      status("Signed out: sign in with your email address and password.");
      $("note-list").replaceChildren();
    }
  }
}

function renderTokens() {
  const token = session.describe();
  $("access-token").textContent = token
    ? `in this page's memory only (a closure in session.js): ${token.preview}, expires at ` +
      `${token.expiresAt.toLocaleTimeString()} (in ${Math.max(
        0,
        Math.round((token.expiresAt - Date.now()) / 1000),
      )} s)`
    : "none";
  $("refresh-token").textContent =
    `an HttpOnly cookie set by ${API_ORIGIN}: the browser sends it with this page's ` +
    "requests to the token endpoints, and no script can read it";
  $("document-cookie").textContent = JSON.stringify(document.cookie);
  $("web-storage").textContent = `${localStorage.length + sessionStorage.length} entries`;
}

async function attempt(action) {
  showError(null);
  try {
    await action();
  } catch (error) {
    showError(error);
  }
}

async function loadAccount() {
  await attempt(async () => {
    const me = await session.api("/auth/me/");
    $("who").textContent = me.email;
    await loadNotes();
  });
}

async function loadNotes() {
  const notes = await session.api("/api/notes/");
  $("note-list").replaceChildren(
    ...notes.map((note) => {
      const item = document.createElement("li");
      const title = document.createElement("strong");
      title.textContent = note.title;
      item.append(title, note.body ? `: ${note.body}` : "");
      return item;
    }),
  );
  status(`Signed in: ${notes.length} note${notes.length === 1 ? "" : "s"}.`);
}

$("sign-in-form").addEventListener("submit", (event) => {
  event.preventDefault();
  attempt(async () => {
    await session.signIn($("email").value, $("password").value);
    $("password").value = "";
  });
});

$("add-note-form").addEventListener("submit", (event) => {
  event.preventDefault();
  attempt(async () => {
    const note = await session.api("/api/notes/", {
      method: "POST",
      body: { title: $("note-title").value, body: $("note-body").value },
    });
    log(`Added the note "${note.title}".`);
    event.target.reset();
    await loadNotes();
  });
});

$("reload-notes").addEventListener("click", () => attempt(loadNotes));
$("refresh-now").addEventListener("click", () => attempt(session.refresh));
$("sign-out").addEventListener("click", () => attempt(session.signOut));

setInterval(renderTokens, 1000);
render();
attempt(async () => {
  try {
    if (!(await session.resume())) log("No refresh cookie, or it is no longer valid: sign in.");
  } finally {
    resumed = true;
    render();
  }
});
