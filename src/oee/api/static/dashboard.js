// The live dashboard: every order over the WS /ws/orders firehose, a submit form and demo buttons.
// Plain JavaScript on the public API only; no framework, no build step, nothing from the internet.
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
// The burst trades a spread of pairs, so both venues and several pools show up.
const BURST = [
  ["SOL", "USDC", "0.5"], ["USDC", "SOL", "40"], ["SOL", "BONK", "0.2"], ["USDC", "JUP", "25"],
  ["JUP", "USDC", "30"], ["SOL", "WIF", "0.3"], ["RAY", "USDC", "8"], ["USDT", "SOL", "35"],
  ["SOL", "USDT", "0.4"], ["WIF", "SOL", "12"],
];

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

// ---------------------------------------------------------------------------------- order state

function blank(id) {
  return {
    id, seq: 0, status: "pending", tokenIn: null, tokenOut: null, amountIn: null,
    chosenDex: null, quotes: {}, executedPrice: null, attempt: 1, retries: [],
    error: null, reason: null, createdAt: null, row: null, detailsRequested: false,
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
  });
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
        });
      } else if (ev.error) { // a retry: back to pending with the next attempt
        state.retries.push({ attempt: ev.attempt - 1, error: ev.error, reason: ev.reason });
        state.error = ev.error;
        state.reason = ev.reason;
        state.chosenDex = null;
        totals.retries += 1;
      }
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
    const reply = await fetch(`/api/orders/${encodeURIComponent(id)}`, { cache: "no-store" });
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

const CELLS = ["id", "pair", "amount num", "status", "venue", "q-raydium num", "q-meteora num",
  "price num", "attempts", "note"];

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
  const [, pair, amount, status, venue, qRay, qMet, price, attempts, note] = row.cells;
  pair.textContent = state.tokenIn ? `${state.tokenIn} → ${state.tokenOut}` : "…";
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
    span.textContent = `${fmt(value)} ${state.tokenOut || ""}`.trim();
    cell.appendChild(span);
  }

  price.textContent = state.executedPrice === null || state.executedPrice === undefined
    ? "—" : fmt(state.executedPrice);
  price.title = state.tokenIn ? `${state.tokenOut} per ${state.tokenIn}` : "";

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
  } else if (state.retries.length) {
    const codes = state.retries.map((r) => r.error).join(", ");
    note.classList.add("muted");
    words.textContent = `${state.status === "confirmed" ? "recovered" : "retried"} after ${codes}`;
  }
  note.title = [note.textContent, ...history].filter(Boolean).join("\n");
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
    const reply = await fetch("/api/orders/active", { cache: "no-store" });
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

// ---------------------------------------------------------------------------------- firehose

let backoff = BACKOFF_MIN_MS;

function setConn(kind, text) {
  const el = $("conn");
  el.className = `conn conn-${kind}`;
  el.textContent = text;
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(`${scheme}//${location.host}/ws/orders?recent=50`);
  setConn("connecting", "connecting…");
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
  ws.onclose = () => {
    const wait = backoff;
    backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
    setConn("down", `disconnected — retrying in ${(wait / 1000).toFixed(1)} s`);
    setTimeout(connect, wait);
  };
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
  try {
    const reply = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    let data = null;
    try {
      data = await reply.json();
    } catch (_) {
      data = { code: `HTTP_${reply.status}`, message: reply.statusText || "no JSON body" };
    }
    return { ok: reply.ok, status: reply.status, body: data };
  } catch (error) {
    return { ok: false, status: 0, body: { code: "NETWORK_ERROR", message: String(error) } };
  }
}

function submitOrder(tokenIn, tokenOut, amountIn, slippageBps, orderType) {
  const body = { tokenIn, tokenOut, amountIn, orderType };
  if (slippageBps !== "") body.slippageBps = Number(slippageBps);
  return postJson("/api/orders/execute", body);
}

async function onSubmit(event) {
  event.preventDefault();
  const status = $("form-status");
  const button = $("submit");
  button.disabled = true;
  const reply = await submitOrder(
    $("token-in").value, $("token-out").value, $("amount").value.trim(),
    $("slippage").value.trim(), $("order-type").value,
  );
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
    return submitOrder(tokenIn, tokenOut, amount, "100", "market");
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
    const reply = await fetch("/api/sim/faults", { cache: "no-store" });
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
  });
  $("order-form").addEventListener("submit", onSubmit);
  $("burst").addEventListener("click", onBurst);
  $("raise-faults").addEventListener("click", () => setFaultRate(DEMO_FAULT_RATE));
  $("reset-faults").addEventListener("click", () => setFaultRate(0));
  loadFaultRate();
  connect();
  setInterval(updateThroughput, 500);
  setInterval(resyncActive, RESYNC_EVERY_MS);
}

start();
