// What the page knows of each order, kept from the firehose's frames and the order views.
// Other panels (charts, the story) listen with `onOrderEvent`.

import { api } from "./api.js";
import { STATUSES, TERMINAL } from "./config.js";
import { updateStats } from "./stats.js";
import { add, render } from "./table.js";
import { walletSoon } from "./wallet.js";

export const orders = new Map(); // orderId -> state (see blank())
export const confirmedAt = []; // arrival times of confirmed events, for the throughput window
export const totals = { confirmed: 0, failed: 0, retries: 0 };
export const active = { ids: new Set() };
const listeners = [];

export function onOrderEvent(listener) {
  // listener(event, state) after each new firehose event has been applied.
  listeners.push(listener);
}

function blank(id) {
  return {
    id, seq: 0, status: "pending", tokenIn: null, tokenOut: null, amountIn: null,
    chosenDex: null, quotes: {}, executedPrice: null, attempt: 1, retries: [],
    error: null, reason: null, createdAt: null, row: null, detailsRequested: false,
    type: "market", trigger: null, triggeredBy: null, maxPriceImpactBps: null, rearm: null,
    cancelling: false, cancelError: null,
  };
}

export function fromView(view) {
  // An order view (snapshot frame, GET /api/orders/{id}) replaces what we know of an order.
  const state = orders.get(view.orderId) || blank(view.orderId);
  if (view.seq < state.seq) return state; // our events are already newer
  const quotes = {};
  for (const q of view.quotes || []) quotes[q.venue] = q.amountOut;
  Object.assign(state, {
    seq: view.seq,
    status: view.status,
    tokenIn: view.tokenIn && view.tokenIn.symbol,
    tokenOut: view.tokenOut && view.tokenOut.symbol,
    amountIn: view.amountIn,
    chosenDex: view.chosenDex,
    quotes,
    executedPrice: view.executedPrice,
    attempt: view.attempt,
    retries: (view.attempts || [])
      .filter((a) => a.outcome === "retried")
      .map((a) => ({ attempt: a.attempt, error: a.error, reason: a.reason })),
    error: view.error,
    reason: view.reason,
    createdAt: view.createdAt,
    type: view.type || state.type,
  });
  // Views from before triggers reached the API have no such fields: keep what events said.
  if (view.trigger !== undefined) state.trigger = view.trigger;
  if (view.triggeredBy !== undefined) state.triggeredBy = view.triggeredBy;
  if (view.maxPriceImpactBps !== undefined) state.maxPriceImpactBps = view.maxPriceImpactBps;
  if (view.status !== "watching") state.rearm = null;
  return state;
}

function applyDetails(state, ev) {
  // What each kind of event tells beyond the new status.
  switch (ev.type) {
    case "pending":
      if (ev.seq === 1) {
        Object.assign(state, {
          tokenIn: ev.tokenIn, tokenOut: ev.tokenOut, amountIn: ev.amountIn, createdAt: ev.at,
          type: ev.orderType || "market", trigger: ev.trigger || null,
          maxPriceImpactBps: ev.maxPriceImpactBps === undefined ? null : ev.maxPriceImpactBps,
        });
      } else if (ev.error) { // a retry: back to pending with the next attempt
        state.retries.push({ attempt: ev.attempt - 1, error: ev.error, reason: ev.reason });
        state.error = ev.error;
        state.reason = ev.reason;
        state.chosenDex = null;
        totals.retries += 1;
      }
      break;
    case "watching": // armed, or re-armed after the price moved away (error LIMIT_NOT_MET)
      if (ev.trigger) state.trigger = ev.trigger;
      state.rearm = ev.error ? { error: ev.error, reason: ev.reason, price: ev.price } : null;
      state.chosenDex = null;
      break;
    case "routing":
      if (ev.triggeredBy) state.triggeredBy = ev.triggeredBy;
      state.rearm = null;
      break;
    case "cancelled":
    case "expired":
      state.error = null;
      state.reason = ev.reason || null;
      state.rearm = null;
      break;
    case "building":
      state.chosenDex = ev.chosenDex;
      if (ev.quotes) state.quotes = { ...ev.quotes };
      break;
    case "submitted":
      state.chosenDex = ev.chosenDex || state.chosenDex;
      break;
    case "confirmed":
      state.chosenDex = ev.chosenDex || state.chosenDex;
      state.executedPrice = ev.executedPrice;
      state.error = null;
      state.reason = null;
      totals.confirmed += 1;
      confirmedAt.push(Date.now());
      break;
    case "failed":
      state.error = ev.error;
      state.reason = ev.reason;
      totals.failed += 1;
      break;
    default:
      break;
  }
}

export function applyEvent(ev) {
  let state = orders.get(ev.orderId);
  const isNew = !state;
  if (isNew) state = blank(ev.orderId);
  if (ev.seq <= state.seq) return; // the snapshot (or an earlier frame) covered it
  state.seq = ev.seq;
  state.attempt = ev.attempt;
  if (STATUSES.has(ev.type)) state.status = ev.type;
  applyDetails(state, ev);
  if (!["pending", "watching"].includes(state.status)) state.cancelError = null;
  if (TERMINAL.has(ev.type)) walletSoon(); // a finished order moved (or refunded) balances
  if (isNew) add(state, true);
  track(state);
  render(state);
  for (const listener of listeners) listener(ev, state);
  if (state.tokenIn === null && !state.detailsRequested) {
    // Heard of mid-life (e.g. across a reconnect): fetch what the early events said.
    state.detailsRequested = true;
    refresh(state.id);
  }
}

export async function refresh(id) {
  try {
    const reply = await api(`/api/orders/${encodeURIComponent(id)}`, { cache: "no-store" });
    if (!reply.ok) return;
    const state = fromView(await reply.json());
    if (!state.row) add(state, true);
    track(state);
    render(state);
  } catch (_) {
    // The connection is down; the next snapshot brings the order back.
  }
}

export function track(state) {
  if (TERMINAL.has(state.status)) active.ids.delete(state.id);
  else active.ids.add(state.id);
  updateStats();
}
