// The orders table: one row per order, newest on top, re-rendered on every event. A click on a
// row opens the order's story; the Cancel button of a watching order cancels it.

import { MAX_ROWS, VENUES } from "./config.js";
import { orders } from "./orders.js";
import { openStory } from "./story.js";
import { $, fmt, shortId, shortKey, tokenName, untilText } from "./util.js";
import { cancelOrder, showBest, watchPrices } from "./watching.js";

const CELLS = ["id", "type", "pair", "amount num", "status", "trigger", "venue", "q-raydium num",
  "q-meteora num", "price num", "attempts", "note"];

export function add(state, atTop) {
  const row = document.createElement("tr");
  row.dataset.orderId = state.id;
  row.tabIndex = 0; // reachable by keyboard: Enter opens the story
  row.title = "Open this order's story";
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

export function render(state) {
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
  renderNote(state, note, history);
}

function renderNote(state, note, history) {
  note.className = "note";
  note.textContent = "";
  const words = note.appendChild(document.createElement("div")); // two lines at most
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

export function triggerText(state) {
  // What the order waits for: "≥ 160 USDC/SOL", or "waits for AbCd…WxYz on raydium, meteora".
  const t = state.trigger;
  if (t.kind === "price") {
    return `≥ ${fmt(t.limitPrice)} ${tokenName(state.tokenOut)}/${state.tokenIn || "?"}`;
  }
  const waiting = state.status === "watching" || (state.status === "pending" && !state.triggeredBy);
  if (!waiting) return `launch of ${tokenName(state.tokenOut)}`; // the fired line says where
  return `waits for ${tokenName(state.tokenOut)} on ${(t.venues || VENUES).join(", ")}`;
}

export function firedText(state, by) {
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
    const button = line.appendChild(document.createElement("button"));
    button.type = "button";
    button.className = "cancel";
    button.textContent = state.cancelling ? "Cancelling…" : "Cancel";
    button.disabled = state.cancelling;
    button.title = "Cancel this order (only before it starts routing)";
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

export function tickCountdowns() {
  const now = Date.now();
  for (const el of document.querySelectorAll("#order-rows .countdown[data-expires]")) {
    el.textContent = untilText(Date.parse(el.dataset.expires) - now);
  }
}

function onRowsClick(event) {
  const row = event.target.closest("tr[data-order-id]");
  if (!row) return;
  const state = orders.get(row.dataset.orderId);
  if (event.target.closest("button.cancel")) {
    if (state) cancelOrder(state);
    return;
  }
  if (window.getSelection().toString()) return; // selecting text to copy, not opening
  openStory(row.dataset.orderId);
}

function onRowsKey(event) {
  if (event.key !== "Enter" || event.target.tagName !== "TR") return;
  openStory(event.target.dataset.orderId);
}

export function startTable() {
  $("order-rows").addEventListener("click", onRowsClick);
  $("order-rows").addEventListener("keydown", onRowsKey);
}
