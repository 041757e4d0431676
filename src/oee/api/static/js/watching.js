// Watching limit orders: the live best net price beside each (polled from GET /api/quotes only
// while such a row is on the page), and Cancel for any watching order.

import { api, postJson } from "./api.js";
import { QUOTES_EVERY_MS } from "./config.js";
import { fromView, orders, track } from "./orders.js";
import { render } from "./table.js";
import { decimalText, fmt, tokenName } from "./util.js";

// key "SOL|USDC|1.5" -> {price, venue, prices, error}: the best net price for that size now.
const bestPrices = new Map();
const priceListeners = [];
let quotesTimer = null;
let quotesLoading = false;

const priceKey = (state) => `${state.tokenIn}|${state.tokenOut}|${state.amountIn}`;

export function onPrices(listener) {
  // listener(tokenIn, tokenOut, best): each venue's net price polled for a watching order.
  priceListeners.push(listener);
}

function watchedLimits() {
  // The watching limit orders on the page, by the quote they need.
  const byKey = new Map();
  for (const state of orders.values()) {
    const limit = state.trigger && state.trigger.kind === "price";
    if (!limit || state.status !== "watching" || !state.row || !state.tokenIn) continue;
    const key = priceKey(state);
    if (!byKey.has(key)) byKey.set(key, []);
    byKey.get(key).push(state);
  }
  return byKey;
}

export function showBest(state, el) {
  const best = bestPrices.get(priceKey(state));
  el.classList.remove("met", "unmet");
  if (!best) {
    el.textContent = "best …";
    el.title = "the best net price for this size, from GET /api/quotes";
    return;
  }
  if (best.error) {
    el.textContent = "best —";
    el.title = `${best.error.code}: ${best.error.message}`;
    return;
  }
  el.textContent = `best ${fmt(best.price)}`;
  el.dataset.price = String(best.price);
  const met = best.price >= Number(state.trigger.limitPrice);
  el.classList.add(met ? "met" : "unmet");
  el.title = `best net price now for ${fmt(state.amountIn)} ${state.tokenIn}: ` +
    `${best.price} ${tokenName(state.tokenOut)} per ${state.tokenIn} (${best.venue})` +
    (met ? "; at or past the limit" : "");
}

export async function bestPrice(tokenIn, tokenOut, amountIn) {
  // max over venues of amountOut / amountIn, from GET /api/quotes; {error} when none.
  // `prices` holds every venue's net price (venue -> price), for the price charts.
  const query = new URLSearchParams({ tokenIn, tokenOut, amountIn });
  try {
    const reply = await api(`/api/quotes?${query}`, { cache: "no-store" });
    const body = await reply.json();
    if (!reply.ok) return { error: { code: body.code || body.error, message: body.message } };
    let best = null;
    const prices = {};
    for (const q of body.quotes || []) {
      const price = Number(q.amountOut) / Number(body.amountIn);
      if (!Number.isFinite(price)) continue;
      prices[q.venue] = price;
      if (!best || price > best.price) best = { price, venue: q.venue };
    }
    if (best) return { ...best, prices };
    return { error: { code: "NO_QUOTES", message: "no venue quoted" } };
  } catch (error) {
    return { error: { code: "NETWORK_ERROR", message: String(error) } };
  }
}

export async function pollPrices() {
  const byKey = watchedLimits();
  if (byKey.size === 0) { // nothing to watch: stop polling until a watching limit shows up
    clearInterval(quotesTimer);
    quotesTimer = null;
    document.getElementById("orders").dataset.pollingPrices = "false";
    return;
  }
  if (quotesLoading || document.hidden) return;
  quotesLoading = true;
  try {
    await Promise.all([...byKey].map(async ([key, states]) => {
      const first = states[0];
      const best = await bestPrice(first.tokenIn, first.tokenOut,
        decimalText(Number(first.amountIn), 15));
      bestPrices.set(key, best);
      if (!best.error) {
        for (const listener of priceListeners) listener(first.tokenIn, first.tokenOut, best);
      }
      for (const state of states) {
        const el = state.row && state.row.querySelector(".best-now");
        if (el) showBest(state, el);
      }
    }));
  } finally {
    quotesLoading = false;
  }
}

export function pollingPrices() {
  return quotesTimer !== null;
}

export function watchPrices() {
  if (quotesTimer !== null) return;
  quotesTimer = setInterval(pollPrices, QUOTES_EVERY_MS);
  document.getElementById("orders").dataset.pollingPrices = "true"; // for tests and curious eyes
  setTimeout(pollPrices, 0); // the first price now, after this render
}

export async function cancelOrder(state) {
  if (state.cancelling) return;
  state.cancelling = true;
  state.cancelError = null;
  render(state);
  const reply = await postJson(`/api/orders/${encodeURIComponent(state.id)}/cancel`);
  state.cancelling = false;
  if (reply.ok && reply.body && reply.body.orderId) {
    fromView(reply.body);
    track(state);
  } else if (!reply.ok) {
    state.cancelError = { code: reply.body.code, message: reply.body.message };
  }
  render(state);
}
