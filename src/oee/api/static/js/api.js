// The API client: every fetch carries the tab's API key, a 401 brings up the key panel.
// An engine with API keys answers 401 until the page sends one: then the key panel asks for it.
// The key goes out as `Authorization: Bearer` on every fetch; a WebSocket cannot carry headers,
// so the firehose opens with a short-lived token from POST /api/stream-tokens instead.

import { KEY_STORAGE } from "./config.js";
import { $ } from "./util.js";

export const apiKey = () => sessionStorage.getItem(KEY_STORAGE) || "";

export function setConn(kind, text) {
  const el = $("conn");
  el.className = `conn conn-${kind}`;
  el.textContent = text;
}

export function api(url, init = {}) {
  const headers = { ...(init.headers || {}) };
  const key = apiKey();
  if (key) headers.authorization = `Bearer ${key}`;
  return fetch(url, { ...init, headers }).then((reply) => {
    if (reply.status === 401) askForKey(reply);
    return reply;
  });
}

export async function getJson(url) {
  // {ok, status, body} of a GET; a network failure becomes NETWORK_ERROR in the error shape.
  try {
    const reply = await api(url, { cache: "no-store" });
    let body;
    try {
      body = await reply.json();
    } catch (_) {
      body = { code: `HTTP_${reply.status}`, message: reply.statusText || "no JSON body" };
    }
    return { ok: reply.ok, status: reply.status, body };
  } catch (error) {
    return { ok: false, status: 0, body: { code: "NETWORK_ERROR", message: String(error) } };
  }
}

export async function postJson(url, body) {
  // {ok, status, body}; a network failure becomes a NETWORK_ERROR in the server's error shape.
  // Without `body` the POST carries none.
  try {
    const init = { method: "POST" };
    if (body !== undefined) {
      init.headers = { "content-type": "application/json" };
      init.body = JSON.stringify(body);
    }
    const reply = await api(url, init);
    let data = null;
    try {
      data = await reply.json();
    } catch (_) {
      data = { code: `HTTP_${reply.status}`, message: reply.statusText || "no JSON body" };
    }
    if (!reply.ok && data && typeof data === "object" && data.code === undefined) {
      // Refusals are {code, message, errors}; read {error, message} as well.
      data.code = typeof data.error === "string" ? data.error : `HTTP_${reply.status}`;
    }
    return { ok: reply.ok, status: reply.status, body: data };
  } catch (error) {
    return { ok: false, status: 0, body: { code: "NETWORK_ERROR", message: String(error) } };
  }
}

async function askForKey(reply) {
  const panel = $("key-panel");
  if (!panel.hidden) return;
  let message = "Enter one of the engine's API keys (OEE_API_KEYS).";
  if (apiKey()) {
    try {
      message = (await reply.clone().json()).message;
    } catch (_) {
      message = "The key was refused.";
    }
  }
  $("key-message").textContent = message;
  panel.hidden = false;
  setConn("down", "needs an API key");
  $("key-input").focus();
}

function onKey(event) {
  event.preventDefault();
  const key = $("key-input").value.trim();
  if (!key) return;
  sessionStorage.setItem(KEY_STORAGE, key);
  location.reload(); // every panel and the firehose start again with the key
}

function forgetKey() {
  sessionStorage.removeItem(KEY_STORAGE);
  location.reload();
}

export function startKeys() {
  $("key-form").addEventListener("submit", onKey);
  $("forget-key").addEventListener("click", forgetKey);
  $("forget-key").hidden = !apiKey();
}
