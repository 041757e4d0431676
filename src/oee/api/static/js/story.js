// An order's whole story, opened by a click on its row: what `oee order ID` prints. A timeline
// of its stages with their durations, every venue's quote side by side with the decision and
// its margin, each attempt with its error, fee and signature, the trigger and what fired it,
// and the result. Read from GET /api/orders/{id} and GET /api/orders/{id}/timeline, and read
// again while it is open and the firehose reports a new event of that order.

import { getJson } from "./api.js";
import { TERMINAL } from "./config.js";
import { onOrderEvent } from "./orders.js";
import { storyTimeline, timelineFromView } from "./timeline.js";
import { firedText, triggerText } from "./table.js";
import { $, element, fmt, shortId, tokenName } from "./util.js";

const REREAD_AFTER_MS = 250; // a burst of events of the open order shares one read
let current = null; // the order id shown
let rereadTimer = null;
let readSeq = 0;

export async function openStory(orderId) {
  current = orderId;
  const panel = $("story");
  panel.dataset.orderId = orderId;
  panel.hidden = false;
  $("story-title").textContent = `Order ${shortId(orderId)}`;
  $("story-id").textContent = orderId;
  for (const row of document.querySelectorAll("#order-rows tr.open")) row.classList.remove("open");
  const row = document.querySelector(`#order-rows tr[data-order-id="${CSS.escape(orderId)}"]`);
  if (row) row.classList.add("open");
  if (panel.dataset.loaded !== orderId) {
    delete panel.dataset.loaded;
    $("story-body").textContent = "Loading…";
  }
  await readStory(orderId);
  $("story-close").focus({ preventScroll: true });
}

function closeStory() {
  current = null;
  $("story").hidden = true;
  delete $("story").dataset.orderId;
  delete $("story").dataset.loaded;
  for (const row of document.querySelectorAll("#order-rows tr.open")) row.classList.remove("open");
}

async function readStory(orderId) {
  const seq = ++readSeq;
  const path = `/api/orders/${encodeURIComponent(orderId)}`;
  const [view, timeline] = await Promise.all([getJson(path), getJson(`${path}/timeline`)]);
  if (seq !== readSeq || current !== orderId) return; // another order opened meanwhile
  const body = $("story-body");
  body.textContent = "";
  if (!view.ok) {
    const error = element(body, "p", "status-line error");
    error.dataset.code = view.body.code;
    element(error, "code", null, view.body.code);
    error.append(`: ${view.body.message}`);
    return;
  }
  const order = view.body;
  const events = timeline.ok ? timeline.body.events : timelineFromView(order);
  renderStory(body, order, events, timeline.ok);
  $("story").dataset.loaded = orderId;
  $("story").dataset.status = order.status;
  $("story").dataset.seq = String(order.seq);
}

function renderStory(body, order, events, exact) {
  const state = storyState(order);
  section(body, "story-summary", null, (el) => summary(el, order));
  section(body, "story-timeline", "Timeline", (el) => storyTimeline(el, order, events, exact));
  if (order.trigger) section(body, "story-trigger", "Trigger", (el) => trigger(el, order, state));
  section(body, "story-quotes", "Quotes and routing", (el) => quotes(el, order));
  section(body, "story-attempts", "Attempts", (el) => attempts(el, order));
  section(body, "story-result", "Result", (el) => result(el, order));
}

function section(body, id, heading, fill) {
  const el = element(body, "section", "story-part");
  el.id = id;
  if (heading) element(el, "h3", null, heading);
  fill(el);
}

function storyState(order) {
  // The order view in the shape the table's trigger texts read.
  return {
    status: order.status, trigger: order.trigger, triggeredBy: order.triggeredBy,
    tokenIn: order.tokenIn.symbol, tokenOut: order.tokenOut.symbol,
  };
}

function facts(parent, pairs) {
  // A definition list of [term, value] pairs; a value may be a DOM node.
  const list = element(parent, "dl", "facts");
  for (const [term, value] of pairs) {
    if (value === null || value === undefined) continue;
    element(list, "dt", null, term);
    const dd = element(list, "dd");
    if (value instanceof Node) dd.appendChild(value);
    else dd.textContent = String(value);
  }
  return list;
}

function mono(text, className = "mono") {
  const el = document.createElement("span");
  el.className = className;
  el.textContent = text;
  el.title = text;
  return el;
}

function summary(el, order) {
  const pill = document.createElement("span");
  pill.className = `pill s-${order.status}`;
  pill.textContent = order.status;
  const out = tokenName(order.tokenOut.symbol);
  facts(el, [
    ["Status", pill],
    ["Type", order.type],
    ["Trade", `${fmt(order.amountIn)} ${order.tokenIn.symbol} → ${out}`],
    ["Slippage", `${order.slippageBps} bps`],
    ["Max impact", order.maxPriceImpactBps === null ? null : `${order.maxPriceImpactBps} bps`],
    ["Created", new Date(order.createdAt).toLocaleString()],
  ]);
}

function trigger(el, order, state) {
  const t = order.trigger;
  facts(el, [
    ["Waits for", triggerText(state)],
    ["Expires", t.expiresAt ? new Date(t.expiresAt).toLocaleString() : null],
    ["Fired by", order.triggeredBy ? firedText(state, order.triggeredBy) : "not fired"],
  ]);
  if (order.triggeredBy) {
    const details = Object.entries(order.triggeredBy).map(([k, v]) => [k, mono(String(v))]);
    facts(el, details).classList.add("fired-by");
  }
}

function quotes(el, order) {
  if (!order.quotes.length) {
    const words = TERMINAL.has(order.status) ? "No venue was quoted." : "Not routed yet.";
    element(el, "p", "hint", words);
    return;
  }
  const out = tokenName(order.tokenOut.symbol);
  const routing = order.routing || {};
  const table = element(el, "table", "story-table story-quotes");
  const head = element(element(table, "thead"), "tr");
  for (const name of ["Venue", "Out", "Price", "Impact", "Fee", "Decision"]) {
    element(head, "th", null, name);
  }
  const tbody = element(table, "tbody");
  for (const q of order.quotes) {
    const tr = element(tbody, "tr");
    tr.dataset.venue = q.venue;
    const chosen = q.venue === routing.chosenDex;
    if (chosen) tr.classList.add("chosen");
    element(tr, "td", "venue", q.venue);
    element(tr, "td", "num", `${fmt(q.amountOut)} ${out}`);
    element(tr, "td", "num", fmt(q.price));
    element(tr, "td", "num", `${fmt(q.priceImpactBps)} bps`);
    element(tr, "td", "num", `${fmt(q.fee)} ${order.tokenIn.symbol} (${q.feeBps} bps)`);
    element(tr, "td", "decision", chosen ? "★ chosen" : `−${fmt(routing.marginBps)} bps`);
  }
  if (order.routing) {
    const p = element(el, "p", "margin");
    p.dataset.marginBps = String(routing.marginBps);
    p.textContent = `${routing.chosenDex} chosen by a margin of ${fmt(routing.marginBps)} bps; ` +
      `at least ${fmt(routing.minAmountOut)} ${out} accepted (slippage ${order.slippageBps} bps).`;
  }
}

function feeText(lamports) {
  if (lamports === null || lamports === undefined) return "—";
  return `${lamports} lamports (${fmt(lamports / 1e9)} SOL)`;
}

function attempts(el, order) {
  if (!order.attempts.length) {
    element(el, "p", "hint", `Attempt ${order.attempt}: nothing sent yet.`);
    return;
  }
  const table = element(el, "table", "story-table story-attempts");
  const head = element(element(table, "thead"), "tr");
  for (const name of ["#", "Outcome", "Venue", "Error", "Fee", "Signature"]) {
    element(head, "th", null, name);
  }
  const tbody = element(table, "tbody");
  for (const a of order.attempts) {
    const tr = element(tbody, "tr");
    tr.dataset.attempt = String(a.attempt);
    tr.dataset.outcome = a.outcome;
    element(tr, "td", null, a.attempt);
    element(tr, "td", `outcome o-${a.outcome}`, a.outcome);
    element(tr, "td", "venue", a.venue || "—");
    const error = element(tr, "td", "error", a.error ? `${a.error}: ${a.reason}` : "—");
    error.title = error.textContent;
    const fee = element(tr, "td", "fee", a.feeLamports == null ? "—" : `${a.feeLamports} lamports`);
    fee.title = feeText(a.feeLamports);
    element(tr, "td", "sig").appendChild(mono(a.txHash || "—", "mono signature"));
  }
}

function result(el, order) {
  const r = order.result;
  const out = tokenName(order.tokenOut.symbol);
  el.dataset.status = order.status;
  if (r) {
    facts(el, [
      ["Received", `${fmt(r.amountOut)} ${out}`],
      ["Price", `${fmt(r.executedPrice)} ${out} per ${order.tokenIn.symbol}`],
      ["Venue", r.chosenDex],
      ["Fee", feeText(r.feeLamports)],
      ["Signature", mono(r.txHash, "mono signature")],
    ]);
  } else if (order.status === "failed") {
    facts(el, [["Failed", `${order.error}: ${order.reason}`]]).classList.add("bad");
  } else if (order.status === "cancelled" || order.status === "expired") {
    facts(el, [[order.status === "cancelled" ? "Cancelled" : "Expired", order.reason || ""]]);
  } else {
    element(el, "p", "hint", `Still ${order.status}.`);
  }
}

function onEvent(ev) {
  if (ev.orderId !== current || rereadTimer !== null) return;
  rereadTimer = setTimeout(() => {
    rereadTimer = null;
    if (current) readStory(current);
  }, REREAD_AFTER_MS);
}

export function startStory() {
  $("story-close").addEventListener("click", closeStory);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !$("story").hidden) closeStory();
  });
  onOrderEvent(onEvent);
}
