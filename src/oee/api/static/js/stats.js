// The counters above the table: active orders (checked against the server), throughput over
// the last ten seconds, and what was confirmed, failed and retried since the page loaded.

import { api } from "./api.js";
import { TERMINAL, THROUGHPUT_WINDOW_MS } from "./config.js";
import { active, confirmedAt, orders, refresh, totals } from "./orders.js";
import { $ } from "./util.js";

export function updateStats() {
  $("active-count").textContent = String(active.ids.size);
  for (const [id, count] of [
    ["confirmed-count", totals.confirmed], ["failed-count", totals.failed],
    ["retry-count", totals.retries],
  ]) {
    $(id).textContent = String(count);
    $(id).classList.toggle("nonzero", count > 0);
  }
}

export function updateThroughput() {
  const cutoff = Date.now() - THROUGHPUT_WINDOW_MS;
  while (confirmedAt.length && confirmedAt[0] < cutoff) confirmedAt.shift();
  $("throughput").textContent = (confirmedAt.length / (THROUGHPUT_WINDOW_MS / 1000)).toFixed(1);
}

export async function resyncActive() {
  // Orders beyond our rows (or missed while reconnecting) still count: ask the server.
  try {
    const reply = await api("/api/orders/active", { cache: "no-store" });
    if (!reply.ok) return;
    const body = await reply.json();
    const ids = new Set(body.orderIds);
    for (const id of active.ids) {
      const state = orders.get(id);
      if (!ids.has(id) && state && !TERMINAL.has(state.status)) refresh(id); // finished unseen
    }
    active.ids = new Set([...ids].filter((id) => {
      const state = orders.get(id);
      return !state || !TERMINAL.has(state.status);
    }));
    updateStats();
  } catch (_) {
    // Offline: the firehose's reconnect will report it.
  }
}
