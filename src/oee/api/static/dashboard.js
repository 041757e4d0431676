// The live dashboard: every order over the WS /ws/orders firehose, a submit form for market,
// limit and sniper orders, demo buttons (faults, price moves), the engine wallet's balances and
// the simulator's pool launches. Watching orders show their trigger, the live best price (polled
// from GET /api/quotes only while such a row is on the page), their expiry and a Cancel button.
// Plain JavaScript on the public API only; no framework, no build step, nothing from the internet.
// With API keys it asks for one on the first 401 and keeps it for the tab (sessionStorage).
"use strict";

const TOKENS = ["SOL", "USDC", "USDT", "BONK", "JUP", "WIF", "RAY"];
const STATUSES = new Set([
  "pending", "watching", "routing", "building", "submitted",
  "confirmed", "failed", "cancelled", "expired",
]);
const TERMINAL = new Set(["confirmed", "failed", "cancelled", "expired"]);
const VENUES = ["raydium", "meteora"];
const MAX_ROWS = 300; // oldest rows beyond this are dropped, so a long session stays light
const THROUGHPUT_WINDOW_MS = 10_000;
const RESYNC_EVERY_MS = 5_000; // the active count is checked against the server this often
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 10_000;
const DEMO_FAULT_RATE = 0.3;
const WALLET_EVERY_MS = 4_000; // balances are re-read this often, and after every finished order
const WALLET_AFTER_ORDER_MS = 250; // a burst's finished orders share one read
const LAUNCHES_EVERY_MS = 15_000; // the simulator may launch tokens of its own
const MAX_LAUNCHES_SHOWN = 30;
const LAUNCH_DECIMALS = 6;
const QUOTES_EVERY_MS = 2_000; // the best price beside watching limit orders, while any is shown
const COUNTDOWN_EVERY_MS = 1_000;
const SNIPER_PAYS_WITH = new Set(["SOL", "USDC"]);
// The pairs the price mover offers first; launched tokens join as LAUNCH/SOL.
const MOVE_PAIRS = ["SOL/USDC", "SOL/USDT", "JUP/USDC", "RAY/USDC", "BONK/SOL", "WIF/SOL"];
const BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
const SYMBOL_STEMS = ["MOON", "PEPE", "FROG", "PUMP", "APE", "CAT", "ROCKET", "GIGA", "WOOF", "ZAP"];
// The burst trades a spread of pairs, so both venues and several pools show up.
const BURST = [
  ["SOL", "USDC", "0.5"], ["USDC", "SOL", "40"], ["SOL", "BONK", "0.2"], ["USDC", "JUP", "25"],
  ["JUP", "USDC", "30"], ["SOL", "WIF", "0.3"], ["RAY", "USDC", "8"], ["USDT", "SOL", "35"],
  ["SOL", "USDT", "0.4"], ["WIF", "SOL", "12"],
];

const KEY_STORAGE = "oee.apiKey"; // this tab only (sessionStorage), until "Forget key"

const $ = (id) => document.getElementById(id);
const orders = new Map(); // orderId -> state (see blank())
const confirmedAt = []; // arrival times of confirmed events, for the throughput window
const totals = { confirmed: 0, failed: 0, retries: 0 };
let activeIds = new Set();

// ---------------------------------------------------------------------------------- formatting

const numberFormat = new Intl.NumberFormat(undefined, { maximumSignificantDigits: 6 });
function fmt(value) {
  if (value === null || value === undefined || value === "") return "—";
  const n = Number(value);
  return Number.isFinite(n) ? numberFormat.format(n) : String(value);
}
const shortId = (id) => id.slice(0, 8);
const shortKey = (key) => (key.length > 12 ? `${key.slice(0, 4)}…${key.slice(-4)}` : key);
// A token for people: a launched mint by its symbol, an unlisted one (a sniper's) shortened.
const tokenName = (symbol) => (symbol ? launchSymbols.get(symbol) || shortKey(symbol) : "");
function decimalText(n, digits = 6) {
  // A number as plain decimal text the API reads (never an exponent): 1.5e7 -> "15000000".
  return n.toLocaleString("en-US", { maximumSignificantDigits: digits, useGrouping: false });
}
function untilText(ms) {
  // The time an order may still wait, for its countdown: "23h 59m left".
  if (ms <= 0) return "expiring…";
  const s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d) return `${d}d ${h}h left`;
  if (h) return `${h}h ${String(m).padStart(2, "0")}m left`;
  return `${m}m ${String(s % 60).padStart(2, "0")}s left`;
}
const balanceFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 4 });
function fmtBalance(text) {
  // Exact decimal strings from the API; shown rounded, kept exact in the title.
  const n = Number(text);
  return Number.isFinite(n) ? balanceFormat.format(n) : String(text);
}

// ---------------------------------------------------------------------------------- order state

function blank(id) {
  return {
    id, seq: 0, status: "pending", tokenIn: null, tokenOut: null, amountIn: null,
    chosenDex: null, quotes: {}, executedPrice: null, attempt: 1, retries: [],
    error: null, reason: null, createdAt: null, row: null, detailsRequested: false,
    type: "market", trigger: null, triggeredBy: null, maxPriceImpactBps: null, rearm: null,
    cancelling: false, cancelError: null,
  };
}

function fromView(view) {
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

function applyEvent(ev) {
  let state = orders.get(ev.orderId);
  const isNew = !state;
  if (isNew) state = blank(ev.orderId);
  if (ev.seq <= state.seq) return; // the snapshot (or an earlier frame) covered it
  state.seq = ev.seq;
  state.attempt = ev.attempt;
  if (STATUSES.has(ev.type)) state.status = ev.type;
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
  if (!["pending", "watching"].includes(state.status)) state.cancelError = null;
  if (TERMINAL.has(ev.type)) walletSoon(); // a finished order moved (or refunded) balances
  if (isNew) add(state, true);
  track(state);
  render(state);
  if (state.tokenIn === null && !state.detailsRequested) {
    // Heard of mid-life (e.g. across a reconnect): fetch what the early events said.
    state.detailsRequested = true;
    refresh(state.id);
  }
}

async function refresh(id) {
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

function track(state) {
  if (TERMINAL.has(state.status)) activeIds.delete(state.id);
  else activeIds.add(state.id);
  updateStats();
}

// ---------------------------------------------------------------------------------- table

const CELLS = ["id", "type", "pair", "amount num", "status", "trigger", "venue", "q-raydium num",
  "q-meteora num", "price num", "attempts", "note"];

function add(state, atTop) {
  const row = document.createElement("tr");
  row.dataset.orderId = state.id;
  for (const cls of CELLS) {
    const cell = document.createElement("td");
    cell.className = cls;
    row.appendChild(cell);
  }
  row.cells[0].textContent = shortId(state.id);
  row.cells[0].title = state.id;
  const body = $("order-rows");
  if (atTop) body.prepend(row);
  else body.appendChild(row);
  state.row = row;
  while (body.rows.length > MAX_ROWS) {
    const last = body.rows[body.rows.length - 1];
    const gone = orders.get(last.dataset.orderId);
    if (gone) gone.row = null;
    orders.delete(last.dataset.orderId);
    last.remove();
  }
  orders.set(state.id, state);
  $("empty").hidden = true;
}

function render(state) {
  const row = state.row;
  if (!row) return;
  const [, type, pair, amount, status, trigger, venue, qRay, qMet, price, attempts, note] =
    row.cells;
  const out = tokenName(state.tokenOut);
  type.textContent = state.type;
  type.className = `type t-${state.type}`;
  row.dataset.type = state.type;
  pair.textContent = state.tokenIn ? `${state.tokenIn} → ${out}` : "…";
  pair.title = state.tokenOut && state.tokenOut !== out ? `${state.tokenOut}` : "";
  amount.textContent = state.tokenIn ? `${fmt(state.amountIn)} ${state.tokenIn}` : "…";

  const pill = status.firstChild || status.appendChild(document.createElement("span"));
  pill.className = `pill s-${state.status}`;
  pill.textContent = state.status;
  if (row.dataset.status !== state.status) {
    row.dataset.status = state.status;
    row.classList.remove("changed");
    void row.offsetWidth; // restart the flash animation
    row.classList.add("changed");
  }
  renderTrigger(state, trigger);
  venue.textContent = state.chosenDex || "—";

  const quoteCells = { raydium: qRay, meteora: qMet };
  for (const name of VENUES) {
    const cell = quoteCells[name];
    cell.textContent = "";
    const value = state.quotes[name];
    if (value === undefined) {
      cell.textContent = "—";
      continue;
    }
    const span = document.createElement("span");
    span.className = name === state.chosenDex ? "best" : "other";
    span.textContent = `${fmt(value)} ${out}`.trim();
    cell.appendChild(span);
  }

  price.textContent = state.executedPrice === null || state.executedPrice === undefined
    ? "—" : fmt(state.executedPrice);
  price.title = state.tokenIn ? `${out} per ${state.tokenIn}` : "";

  attempts.textContent = String(state.attempt);
  if (state.retries.length) {
    const span = document.createElement("span");
    span.className = "retries";
    span.textContent = `↻ ${state.retries.length}`;
    attempts.appendChild(span);
  }
  const history = state.retries.map((r) => `attempt ${r.attempt}: ${r.error} — ${r.reason}`);
  attempts.title = history.join("\n");

  note.className = "note";
  note.textContent = "";
  const words = note.appendChild(document.createElement("div")); // capped, ellipsis past it
  if (state.status === "failed") {
    note.classList.add("bad");
    words.textContent = `${state.error}: ${state.reason}`;
  } else if (state.status === "pending" && state.retries.length) {
    const last = state.retries[state.retries.length - 1];
    note.classList.add("warn");
    words.textContent = `retrying after ${last.error}: ${last.reason}`;
  } else if (state.status === "watching" && state.rearm) {
    note.classList.add("warn");
    const at = state.rearm.price ? ` (${fmt(state.rearm.price)})` : "";
    words.textContent = `re-armed${at}: ${state.rearm.reason || state.rearm.error}`;
  } else if (state.status === "cancelled" || state.status === "expired") {
    note.classList.add("muted");
    words.textContent = state.reason || "";
  } else if (state.retries.length) {
    const codes = state.retries.map((r) => r.error).join(", ");
    note.classList.add("muted");
    words.textContent = `${state.status === "confirmed" ? "recovered" : "retried"} after ${codes}`;
  }
  note.title = [note.textContent, ...history].filter(Boolean).join("\n");
}

function triggerText(state) {
  // What the order waits for: "≥ 160 USDC/SOL", or "waits for AbCd…WxYz on raydium, meteora".
  const t = state.trigger;
  if (t.kind === "price") {
    return `≥ ${fmt(t.limitPrice)} ${tokenName(state.tokenOut)}/${state.tokenIn || "?"}`;
  }
  const waiting = state.status === "watching" || (state.status === "pending" && !state.triggeredBy);
  if (!waiting) return `launch of ${tokenName(state.tokenOut)}`; // the fired line says where
  return `waits for ${tokenName(state.tokenOut)} on ${(t.venues || VENUES).join(", ")}`;
}

function firedText(state, by) {
  // What fired it, from the routing event's triggeredBy (or the order view's).
  const limit = state.trigger ? state.trigger.kind === "price" : by.signature === undefined;
  if (limit) {
    return `⚡ at ${fmt(by.price)}${by.venue ? ` on ${by.venue}` : ""}`;
  }
  const parts = [`⚡ launch${by.venue ? ` on ${by.venue}` : ""}`];
  if (by.pool) parts.push(`pool ${shortKey(by.pool)}`);
  else if (by.signature) parts.push(`tx ${shortKey(by.signature)}`);
  return parts.join(", ");
}

function renderTrigger(state, cell) {
  cell.className = "trigger";
  cell.textContent = "";
  if (!state.trigger) {
    cell.textContent = state.type === "market" ? "—" : "…";
    return;
  }
  const waiting = state.status === "watching" || (state.status === "pending" && !state.triggeredBy);
  const cond = cell.appendChild(document.createElement("div"));
  cond.className = "cond";
  cond.textContent = triggerText(state);
  if (state.trigger.kind === "launch") cond.title = `mint ${state.tokenOut}`;
  const line = cell.appendChild(document.createElement("div"));
  line.className = "live";
  if (waiting) {
    if (state.trigger.kind === "price" && state.status === "watching") {
      const best = line.appendChild(document.createElement("span"));
      best.className = "best-now";
      showBest(state, best);
      line.appendChild(document.createElement("span")).textContent = "·";
    }
    const left = line.appendChild(document.createElement("span"));
    left.className = "countdown";
    left.dataset.expires = state.trigger.expiresAt;
    left.title = `expires ${new Date(state.trigger.expiresAt).toLocaleString()}`;
    left.textContent = untilText(Date.parse(state.trigger.expiresAt) - Date.now());
    {
      const button = line.appendChild(document.createElement("button"));
      button.type = "button";
      button.className = "cancel";
      button.textContent = state.cancelling ? "Cancelling…" : "Cancel";
      button.disabled = state.cancelling;
      button.title = "Cancel this order (only before it starts routing)";
    }
  } else if (state.triggeredBy) {
    const by = state.triggeredBy;
    line.classList.add("fired");
    line.textContent = firedText(state, by);
    line.title = Object.entries(by).map(([k, v]) => `${k}: ${v}`).join("\n");
  } else {
    line.remove();
  }
  if (state.cancelError) {
    const error = cell.appendChild(document.createElement("div"));
    error.className = "cancel-error";
    error.dataset.code = state.cancelError.code;
    error.textContent = `${state.cancelError.code}: ${state.cancelError.message}`;
    error.title = error.textContent;
  }
  if (state.status === "watching" && state.trigger.kind === "price") watchPrices();
}

function tickCountdowns() {
  const now = Date.now();
  for (const el of document.querySelectorAll("#order-rows .countdown[data-expires]")) {
    el.textContent = untilText(Date.parse(el.dataset.expires) - now);
  }
}

// ------------------------------------------------------------------- live best price (limits)

// key "SOL|USDC|1.5" -> {price, venue, error}: the best net price for that order's size now.
const bestPrices = new Map();
let quotesTimer = null;
let quotesLoading = false;

const priceKey = (state) => `${state.tokenIn}|${state.tokenOut}|${state.amountIn}`;

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

function showBest(state, el) {
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

async function bestPrice(tokenIn, tokenOut, amountIn) {
  // max over venues of amountOut / amountIn, from GET /api/quotes; {error} when none.
  const query = new URLSearchParams({ tokenIn, tokenOut, amountIn });
  try {
    const reply = await api(`/api/quotes?${query}`, { cache: "no-store" });
    const body = await reply.json();
    if (!reply.ok) return { error: { code: body.code || body.error, message: body.message } };
    let best = null;
    for (const q of body.quotes || []) {
      const price = Number(q.amountOut) / Number(body.amountIn);
      if (Number.isFinite(price) && (!best || price > best.price)) best = { price, venue: q.venue };
    }
    return best || { error: { code: "NO_QUOTES", message: "no venue quoted" } };
  } catch (error) {
    return { error: { code: "NETWORK_ERROR", message: String(error) } };
  }
}

async function pollPrices() {
  const byKey = watchedLimits();
  if (byKey.size === 0) { // nothing to watch: stop polling until a watching limit shows up
    clearInterval(quotesTimer);
    quotesTimer = null;
    return;
  }
  if (quotesLoading || document.hidden) return;
  quotesLoading = true;
  try {
    await Promise.all([...byKey].map(async ([key, states]) => {
      const first = states[0];
      bestPrices.set(key, await bestPrice(first.tokenIn, first.tokenOut,
        decimalText(Number(first.amountIn), 15)));
      for (const state of states) {
        const el = state.row && state.row.querySelector(".best-now");
        if (el) showBest(state, el);
      }
    }));
  } finally {
    quotesLoading = false;
  }
}

function watchPrices() {
  if (quotesTimer !== null) return;
  quotesTimer = setInterval(pollPrices, QUOTES_EVERY_MS);
  setTimeout(pollPrices, 0); // the first price now, after this render
}

// ---------------------------------------------------------------------------------- cancel

async function cancelOrder(state) {
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

function onRowsClick(event) {
  const button = event.target.closest("button.cancel");
  if (!button) return;
  const state = orders.get(button.closest("tr").dataset.orderId);
  if (state) cancelOrder(state);
}

// ---------------------------------------------------------------------------------- stats

function updateStats() {
  $("active-count").textContent = String(activeIds.size);
  for (const [id, count] of [
    ["confirmed-count", totals.confirmed], ["failed-count", totals.failed],
    ["retry-count", totals.retries],
  ]) {
    $(id).textContent = String(count);
    $(id).classList.toggle("nonzero", count > 0);
  }
}

function updateThroughput() {
  const cutoff = Date.now() - THROUGHPUT_WINDOW_MS;
  while (confirmedAt.length && confirmedAt[0] < cutoff) confirmedAt.shift();
  $("throughput").textContent = (confirmedAt.length / (THROUGHPUT_WINDOW_MS / 1000)).toFixed(1);
}

async function resyncActive() {
  // Orders beyond our rows (or missed while reconnecting) still count: ask the server.
  try {
    const reply = await api("/api/orders/active", { cache: "no-store" });
    if (!reply.ok) return;
    const body = await reply.json();
    const ids = new Set(body.orderIds);
    for (const id of activeIds) {
      const state = orders.get(id);
      if (!ids.has(id) && state && !TERMINAL.has(state.status)) refresh(id); // finished unseen
    }
    activeIds = new Set([...ids].filter((id) => {
      const state = orders.get(id);
      return !state || !TERMINAL.has(state.status);
    }));
    updateStats();
  } catch (_) {
    // Offline: the firehose's reconnect will report it.
  }
}

// ---------------------------------------------------------------------------------- API keys

// An engine with API keys answers 401 until the page sends one: then the key panel asks for it.
// The key goes out as `Authorization: Bearer` on every fetch; a WebSocket cannot carry headers,
// so the firehose opens with a short-lived token from POST /api/stream-tokens instead.
const apiKey = () => sessionStorage.getItem(KEY_STORAGE) || "";

function api(url, init = {}) {
  const headers = { ...(init.headers || {}) };
  const key = apiKey();
  if (key) headers.authorization = `Bearer ${key}`;
  return fetch(url, { ...init, headers }).then((reply) => {
    if (reply.status === 401) askForKey(reply);
    return reply;
  });
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

// ---------------------------------------------------------------------------------- firehose

let backoff = BACKOFF_MIN_MS;

function setConn(kind, text) {
  const el = $("conn");
  el.className = `conn conn-${kind}`;
  el.textContent = text;
}

function reconnect() {
  const wait = backoff;
  backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
  setConn("down", `disconnected — retrying in ${(wait / 1000).toFixed(1)} s`);
  setTimeout(connect, wait);
}

async function connect() {
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
}

// ---------------------------------------------------------------------------------- actions

function say(el, kind, parts) {
  // parts: strings, or [text] for a code span; never HTML, so server text cannot inject markup.
  el.className = `status-line ${kind}`;
  el.textContent = "";
  for (const part of parts) {
    if (Array.isArray(part)) {
      const code = document.createElement("code");
      code.textContent = part[0];
      el.appendChild(code);
    } else {
      el.appendChild(document.createTextNode(part));
    }
  }
}

async function postJson(url, body) {
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

function submitOrder(body) {
  return postJson("/api/orders/execute", body);
}

function orderBody() {
  // The form as an execute body: only the chosen type's fields (the server refuses the others).
  // A market order names no type (the default).
  const type = $("order-type").value;
  const body = {
    tokenIn: $("token-in").value,
    tokenOut: type === "sniper" ? $("sniper-mint").value.trim() : $("token-out").value,
    amountIn: $("amount").value.trim(),
  };
  const slippage = $("slippage").value.trim();
  if (slippage !== "") body.slippageBps = Number(slippage);
  if (type === "market") return body;
  body.type = type;
  if (type === "limit") {
    const limit = $("limit-price").value.trim();
    if (limit !== "") body.limitPrice = limit; // as typed: exact; empty: the server says so
  } else {
    body.venues = VENUES.filter((name) => $(`venue-${name}`).checked);
  }
  body.ttlSeconds = Number($("ttl").value);
  const impact = $("max-impact").value.trim();
  if (impact !== "") body.maxPriceImpactBps = Number(impact);
  return body;
}

async function onSubmit(event) {
  event.preventDefault();
  const status = $("form-status");
  const button = $("submit");
  const body = orderBody();
  if (body.venues && body.venues.length === 0) {
    delete status.dataset.orderId;
    status.dataset.code = "NO_VENUE";
    say(status, "error", ["Pick at least one venue for the sniper to watch."]);
    return;
  }
  button.disabled = true;
  const reply = await submitOrder(body);
  button.disabled = false;
  if (reply.ok) {
    status.dataset.orderId = reply.body.orderId;
    delete status.dataset.code;
    say(status, "ok", ["Accepted order ", [shortId(reply.body.orderId)], "."]);
  } else {
    delete status.dataset.orderId;
    status.dataset.code = reply.body.code;
    say(status, "error", [[reply.body.code], `: ${reply.body.message}`]);
  }
}

async function onBurst() {
  const button = $("burst");
  const status = $("demo-status");
  button.disabled = true;
  say(status, "", ["Sending 20 orders…"]);
  const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => {
    const [tokenIn, tokenOut, amount] = BURST[i % BURST.length];
    return submitOrder({ tokenIn, tokenOut, amountIn: amount, slippageBps: 100 });
  }));
  button.disabled = false;
  const refused = replies.filter((r) => !r.ok);
  if (refused.length === 0) {
    say(status, "ok", ["Burst: 20 of 20 orders accepted."]);
  } else {
    const first = refused[0].body;
    say(status, "error", [`Burst: ${20 - refused.length} of 20 accepted; `, [first.code],
      `: ${first.message}`]);
  }
}

function showFaultRate(rate) {
  $("fault-rate").textContent = `${Math.round(rate * 100)} %`;
  $("raise-faults").disabled = rate >= DEMO_FAULT_RATE;
  $("reset-faults").disabled = rate === 0;
}

function faultsUnavailable(body) {
  $("fault-rate").textContent = "unavailable";
  for (const id of ["raise-faults", "reset-faults"]) {
    $(id).disabled = true;
    $(id).title = `${body.code}: ${body.message}`;
  }
}

async function loadFaultRate() {
  try {
    const reply = await api("/api/sim/faults", { cache: "no-store" });
    const body = await reply.json();
    if (reply.ok) showFaultRate(body.rate);
    else faultsUnavailable(body);
  } catch (_) {
    $("fault-rate").textContent = "unknown";
  }
}

async function setFaultRate(rate) {
  const status = $("demo-status");
  const reply = await postJson("/api/sim/faults", { rate });
  if (reply.ok) {
    showFaultRate(reply.body.rate);
    say(status, "ok", [`Fault rate is now ${Math.round(reply.body.rate * 100)} %.`]);
  } else {
    say(status, "error", [[reply.body.code], `: ${reply.body.message}`]);
  }
}

// ---------------------------------------------------------------------------------- wallet

let walletTimer = null;
let walletLoading = false;
let walletAgain = false;
const launchSymbols = new Map(); // mint -> symbol of the tokens launched, for the balances

function walletSoon() {
  if (walletTimer === null) {
    walletTimer = setTimeout(() => {
      walletTimer = null;
      loadWallet();
    }, WALLET_AFTER_ORDER_MS);
  }
}

async function loadWallet() {
  if (walletLoading) { // one read at a time; ask for one more when this one is done
    walletAgain = true;
    return;
  }
  walletLoading = true;
  try {
    const reply = await api("/api/wallet", { cache: "no-store" });
    const body = await reply.json();
    if (reply.ok) showWallet(body);
    else walletUnavailable(body);
  } catch (error) {
    walletUnavailable({ code: "NETWORK_ERROR", message: String(error) });
  } finally {
    walletLoading = false;
    if (walletAgain) {
      walletAgain = false;
      walletSoon();
    }
  }
}

function showWallet(wallet) {
  const address = $("wallet-address");
  if (address.dataset.address !== wallet.address) {
    address.dataset.address = wallet.address;
    address.textContent = shortKey(wallet.address);
    address.title = `${wallet.address}\nClick to copy`;
  }
  address.disabled = false;
  const sol = $("wallet-sol");
  sol.textContent = fmtBalance(wallet.sol);
  sol.title = `${wallet.sol} SOL (${wallet.lamports} lamports)`;
  sol.dataset.lamports = String(wallet.lamports);
  const list = $("wallet-tokens");
  list.textContent = "";
  for (const token of wallet.tokens) {
    const item = document.createElement("li");
    item.dataset.mint = token.mint;
    item.classList.toggle("zero", token.amount === "0");
    const name = token.symbol || launchSymbols.get(token.mint);
    const symbol = item.appendChild(document.createElement("span"));
    symbol.className = name ? "sym" : "sym mint";
    symbol.textContent = name || shortKey(token.mint);
    symbol.title = token.mint;
    const amount = item.appendChild(document.createElement("span"));
    amount.className = "amount";
    amount.textContent = fmtBalance(token.uiAmount);
    amount.title = `${token.uiAmount} (${token.amount} base units, ${token.decimals} decimals)`;
    item.dataset.symbol = name || "";
    list.appendChild(item);
  }
  const status = $("wallet-status");
  delete status.dataset.code;
  status.className = "status-line";
  status.textContent = wallet.slot === undefined ? "" : `as of slot ${wallet.slot}`;
}

function walletUnavailable(body) {
  const status = $("wallet-status");
  status.dataset.code = body.code;
  say(status, "error", [[body.code], `: ${body.message}`]);
}

async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch (_) {
    // No clipboard API here (an insecure origin, or permission refused): the older way.
  }
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.style.position = "fixed";
  area.style.opacity = "0";
  document.body.appendChild(area);
  area.select();
  let done = false;
  try {
    done = document.execCommand("copy");
  } catch (_) {
    done = false;
  }
  area.remove();
  return done;
}

let copiedTimer = null;

async function onCopyAddress() {
  const address = $("wallet-address").dataset.address;
  if (!address) return;
  const done = await copyText(address);
  const note = $("wallet-copied");
  note.textContent = done ? "copied" : "select and copy it from the tooltip";
  note.dataset.copied = done ? "true" : "false";
  clearTimeout(copiedTimer);
  copiedTimer = setTimeout(() => {
    note.textContent = "";
    delete note.dataset.copied;
  }, 1_500);
}

// ---------------------------------------------------------------------------------- launches

const launches = new Map(); // mint -> launch, in the order heard of

function suggestSymbol() {
  const stem = SYMBOL_STEMS[Math.floor(Math.random() * SYMBOL_STEMS.length)];
  // A digit keeps it clear of the simulator's own random launches (letters only).
  $("launch-symbol").value = `${stem}${10 + Math.floor(Math.random() * 90)}`;
}

function addLaunch(launch, fresh) {
  if (launches.has(launch.mint)) return false;
  launches.set(launch.mint, { ...launch, fresh });
  launchSymbols.set(launch.mint, launch.symbol);
  if (launch.quote && launch.quote.symbol) addMovePair(`${launch.symbol}/${launch.quote.symbol}`);
  return true;
}

function renderLaunches() {
  const list = $("launches");
  list.textContent = "";
  const newest = [...launches.values()].reverse();
  for (const launch of newest.slice(0, MAX_LAUNCHES_SHOWN)) {
    const item = document.createElement("li");
    item.dataset.symbol = launch.symbol;
    item.dataset.mint = launch.mint;
    if (launch.fresh) item.classList.add("new");
    launch.fresh = false;
    const symbol = item.appendChild(document.createElement("span"));
    symbol.className = "sym";
    symbol.textContent = launch.symbol;
    const mint = item.appendChild(document.createElement("span"));
    mint.className = "mint";
    mint.textContent = shortKey(launch.mint);
    mint.title = `mint ${launch.mint}`;
    const price = item.appendChild(document.createElement("span"));
    price.className = "price";
    price.textContent = `$${fmt(launch.priceUsd)}`;
    price.title = `opening price ${launch.priceUsd} USD; ${launch.liquidityUsd} USD a pool`;
    const venues = item.appendChild(document.createElement("span"));
    venues.className = "venues";
    const quote = launch.quote ? launch.quote.symbol : "?";
    const names = launch.pools.map((p) => p.venue.charAt(0).toUpperCase() + p.venue.slice(1));
    venues.textContent = `${names.join(" · ")}, paired with ${quote}`;
    venues.title = launch.pools.map((p) => `${p.venue} pool ${p.address}`).join("\n");
    list.appendChild(item);
  }
  if (newest.length > MAX_LAUNCHES_SHOWN) {
    const more = document.createElement("li");
    more.className = "more";
    more.textContent = `+ ${newest.length - MAX_LAUNCHES_SHOWN} earlier`;
    list.appendChild(more);
  }
  $("launch-count").textContent = newest.length ? `(${newest.length})` : "";
  $("launches-empty").hidden = newest.length > 0;
}

async function loadLaunches() {
  try {
    const reply = await api("/api/sim/pools", { cache: "no-store" });
    const body = await reply.json();
    if (!reply.ok) {
      launchesUnavailable(body);
      return;
    }
    let added = false;
    for (const launch of body) added = addLaunch(launch, false) || added;
    if (added || !$("launches").childElementCount) renderLaunches();
  } catch (_) {
    // Offline: the next poll tries again.
  }
}

function launchesUnavailable(body) {
  const empty = $("launches-empty");
  empty.hidden = false;
  empty.textContent = `Launches unavailable (${body.code}).`;
  empty.title = body.message;
  $("launch").disabled = true;
  $("launch").title = `${body.code}: ${body.message}`;
}

async function onLaunch(event) {
  event.preventDefault();
  const status = $("launch-status");
  const button = $("launch");
  const symbol = $("launch-symbol").value.trim();
  button.disabled = true;
  say(status, "", ["Launching ", [symbol || "…"], "…"]);
  const mint = $("launch-mint").value.trim();
  const request = { symbol, decimals: LAUNCH_DECIMALS };
  if (mint) request.mint = mint; // e.g. the mint a sniper was armed on
  const reply = await postJson("/api/sim/pools", request);
  button.disabled = false;
  if (reply.ok) {
    const launch = reply.body;
    status.dataset.mint = launch.mint;
    delete status.dataset.code;
    say(status, "ok", ["Launched ", [launch.symbol], ` at ${shortKey(launch.mint)}.`]);
    addLaunch(launch, true);
    renderLaunches();
    suggestSymbol();
    $("launch-mint").value = "";
    for (const state of orders.values()) {
      if (state.tokenOut === launch.mint) render(state); // a sniper's target has a name now
    }
  } else {
    delete status.dataset.mint;
    status.dataset.code = reply.body.code;
    say(status, "error", [[reply.body.code], `: ${reply.body.message}`]);
  }
}

// ---------------------------------------------------------------------------------- order types

let limitTouched = false; // the person typed a limit price: stop prefilling it
let limitQuoteSeq = 0;

function onTypeChange() {
  const type = $("order-type").value;
  $("order-form").dataset.type = type;
  for (const el of document.querySelectorAll("#order-form [data-for]")) {
    el.hidden = !el.dataset.for.split(" ").includes(type);
  }
  // A sniper pays with SOL or USDC (what new pools open against).
  const tokenIn = $("token-in");
  for (const option of tokenIn.options) {
    option.disabled = type === "sniper" && !SNIPER_PAYS_WITH.has(option.value);
  }
  if (type === "sniper" && !SNIPER_PAYS_WITH.has(tokenIn.value)) tokenIn.value = "SOL";
  onPairChange();
}

function onPairChange() {
  const tokenIn = $("token-in").value;
  const tokenOut = $("token-out").value;
  $("limit-unit").textContent = `${tokenOut} per ${tokenIn}`;
  $("limit-price").placeholder = `${tokenOut} per ${tokenIn}`;
  if ($("order-type").value === "limit") prefillLimit();
}

async function prefillLimit() {
  // The best net price for the form's pair and size now, offered (and filled in until the
  // person types a price of their own).
  const tokenIn = $("token-in").value;
  const tokenOut = $("token-out").value;
  const amount = $("amount").value.trim();
  const hint = $("limit-best");
  const seq = ++limitQuoteSeq;
  if (!amount || tokenIn === tokenOut) {
    hint.textContent = "";
    return;
  }
  hint.textContent = "Best now: …";
  const best = await bestPrice(tokenIn, tokenOut, amount);
  if (seq !== limitQuoteSeq) return; // the form changed meanwhile
  hint.textContent = "";
  delete hint.dataset.price;
  if (best.error) {
    hint.textContent = `Best now: unknown (${best.error.code}).`;
    hint.title = best.error.message || "";
    return;
  }
  const text = decimalText(best.price);
  hint.dataset.price = text;
  hint.title = `best net price for ${amount} ${tokenIn}, on ${best.venue}`;
  hint.append(`Best now: ${fmt(best.price)} ${tokenOut} per ${tokenIn} `);
  const use = hint.appendChild(document.createElement("button"));
  use.type = "button";
  use.id = "limit-use-best";
  use.className = "link";
  use.textContent = "use";
  use.addEventListener("click", () => {
    $("limit-price").value = text;
    limitTouched = false;
  });
  if (!limitTouched) $("limit-price").value = text;
}

function randomMint() {
  // 32 random bytes in base58: a valid public key no one has used, as a fresh mint.
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  let n = 0n;
  for (const b of bytes) n = n * 256n + BigInt(b);
  let text = "";
  while (n > 0n) {
    text = BASE58[Number(n % 58n)] + text;
    n /= 58n;
  }
  for (const b of bytes) {
    if (b !== 0) break;
    text = `1${text}`;
  }
  return text;
}

function onNewMint() {
  // Arm a sniper on a mint no one has launched yet, and have the launch form launch exactly it.
  const mint = randomMint();
  $("sniper-mint").value = mint;
  $("launch-mint").value = mint;
  const status = $("launch-status");
  delete status.dataset.mint;
  delete status.dataset.code;
  say(status, "", ["Next launch: mint ", [shortKey(mint)], ". Submit the sniper, then launch."]);
}

// ---------------------------------------------------------------------------------- price moves

function addMovePair(pair) {
  const select = $("move-pair");
  if ([...select.options].some((o) => o.value === pair)) return;
  const option = document.createElement("option");
  option.value = option.textContent = pair;
  select.appendChild(option);
}

async function movePrice(percent) {
  const status = $("move-status");
  const list = $("move-prices");
  const pair = $("move-pair").value;
  if (!Number.isFinite(percent)) {
    status.dataset.code = "INVALID_PERCENT";
    say(status, "error", ["Type a percent, such as 3 or -1."]);
    return;
  }
  for (const button of document.querySelectorAll("#move-form button")) button.disabled = true;
  const reply = await postJson("/api/sim/move", { pair, percent });
  for (const button of document.querySelectorAll("#move-form button")) button.disabled = false;
  list.textContent = "";
  if (!reply.ok) {
    delete status.dataset.pair;
    status.dataset.code = reply.body.code;
    say(status, "error", [[reply.body.code], `: ${reply.body.message}`]);
    return;
  }
  const moved = reply.body;
  delete status.dataset.code;
  status.dataset.pair = moved.pair;
  const sign = Number(moved.percent) > 0 ? "+" : "";
  const [base, quote] = moved.pair.split("/");
  say(status, "ok", [`${moved.pair} ${sign}${moved.percent} % (${moved.moved} moved); `,
    `${quote} per ${base} now:`]);
  for (const [venue, price] of Object.entries(moved.prices)) {
    const item = list.appendChild(document.createElement("li"));
    item.dataset.venue = venue;
    item.dataset.price = price;
    const before = moved.previous && moved.previous.prices ? moved.previous.prices[venue] : null;
    const name = item.appendChild(document.createElement("span"));
    name.className = "venue";
    name.textContent = venue;
    const value = item.appendChild(document.createElement("span"));
    value.className = "price";
    value.textContent = before ? `${fmt(before)} → ${fmt(price)}` : fmt(price);
    value.title = before ? `${before} → ${price}` : price;
  }
  if (quotesTimer !== null) pollPrices(); // watching limit orders see the new price now
}

function onMove(event) {
  event.preventDefault();
  movePrice(Number($("move-percent").value));
}

// ---------------------------------------------------------------------------------- start

function fillTokens(select, chosen) {
  for (const symbol of TOKENS) {
    const option = document.createElement("option");
    option.value = option.textContent = symbol;
    option.selected = symbol === chosen;
    select.appendChild(option);
  }
}

function start() {
  fillTokens($("token-in"), "SOL");
  fillTokens($("token-out"), "USDC");
  $("flip").addEventListener("click", () => {
    const a = $("token-in").value;
    $("token-in").value = $("token-out").value;
    $("token-out").value = a;
    onPairChange();
  });
  $("order-type").addEventListener("change", onTypeChange);
  $("token-in").addEventListener("change", onPairChange);
  $("token-out").addEventListener("change", onPairChange);
  $("amount").addEventListener("change", onPairChange);
  $("limit-price").addEventListener("input", () => { limitTouched = true; });
  $("sniper-new-mint").addEventListener("click", onNewMint);
  $("order-form").addEventListener("submit", onSubmit);
  $("order-rows").addEventListener("click", onRowsClick);
  for (const pair of MOVE_PAIRS) addMovePair(pair);
  $("move-form").addEventListener("submit", onMove);
  for (const button of document.querySelectorAll("#move-form button[data-percent]")) {
    button.addEventListener("click", () => movePrice(Number(button.dataset.percent)));
  }
  $("burst").addEventListener("click", onBurst);
  $("raise-faults").addEventListener("click", () => setFaultRate(DEMO_FAULT_RATE));
  $("reset-faults").addEventListener("click", () => setFaultRate(0));
  $("wallet-address").addEventListener("click", onCopyAddress);
  $("launch-form").addEventListener("submit", onLaunch);
  $("launch-suggest").addEventListener("click", suggestSymbol);
  $("key-form").addEventListener("submit", onKey);
  $("forget-key").addEventListener("click", forgetKey);
  $("forget-key").hidden = !apiKey();
  suggestSymbol();
  loadFaultRate();
  loadLaunches().then(loadWallet); // launched symbols name the wallet's new tokens
  connect();
  onTypeChange();
  setInterval(updateThroughput, 500);
  setInterval(tickCountdowns, COUNTDOWN_EVERY_MS);
  setInterval(resyncActive, RESYNC_EVERY_MS);
  setInterval(loadWallet, WALLET_EVERY_MS);
  setInterval(loadLaunches, LAUNCHES_EVERY_MS);
}

start();
