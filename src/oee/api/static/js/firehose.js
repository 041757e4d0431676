// The WS /ws/orders firehose: a snapshot of recent orders, then every event, reconnecting with
// backoff. Each connection opens with a fresh short-lived token (a WebSocket carries no headers).

import { api, setConn } from "./api.js";
import { seedPrices } from "./charts.js";
import { BACKOFF_MAX_MS, BACKOFF_MIN_MS, TERMINAL } from "./config.js";
import { applyEvent, fromView, orders, refresh, track } from "./orders.js";
import { updateStats } from "./stats.js";
import { add, render } from "./table.js";

let backoff = BACKOFF_MIN_MS;

function reconnect() {
  const wait = backoff;
  backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
  setConn("down", `disconnected — retrying in ${(wait / 1000).toFixed(1)} s`);
  setTimeout(connect, wait);
}

export async function connect() {
  setConn("connecting", "connecting…");
  // A token for this connection (valid a minute; an engine without keys ignores it).
  let token;
  try {
    const reply = await api("/api/stream-tokens", { method: "POST" });
    if (reply.status === 401) return; // the key panel is up; a new key reloads the page
    if (!reply.ok) throw new Error(`HTTP ${reply.status}`);
    token = (await reply.json()).token;
  } catch (_) {
    reconnect();
    return;
  }
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const query = `recent=50&token=${encodeURIComponent(token)}`;
  const ws = new WebSocket(`${scheme}//${location.host}/ws/orders?${query}`);
  ws.onmessage = (message) => {
    let frame;
    try {
      frame = JSON.parse(message.data);
    } catch (_) {
      return;
    }
    if (frame.type === "snapshot") {
      backoff = BACKOFF_MIN_MS;
      setConn("live", "live");
      onSnapshot(frame);
    } else if (frame.type === "error") {
      setConn("down", `${frame.code}: ${frame.message}`);
    } else if (frame.orderId) {
      applyEvent(frame);
    }
  };
  ws.onclose = reconnect;
}

function onSnapshot(frame) {
  // Newest first: walk oldest to newest, each new row going on top.
  const views = [...frame.orders].reverse();
  const inSnapshot = new Set();
  for (const view of views) {
    inSnapshot.add(view.orderId);
    const known = orders.has(view.orderId);
    const state = fromView(view);
    if (!known) add(state, true);
    track(state);
    render(state);
  }
  // Rows left unfinished while we were away and not in this snapshot: ask for their state.
  for (const state of orders.values()) {
    if (!inSnapshot.has(state.id) && !TERMINAL.has(state.status)) refresh(state.id);
  }
  updateStats();
  seedPrices(frame.orders); // once: the charts' own points follow from the events
}
