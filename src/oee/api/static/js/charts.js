// Live price charts, one per pair traded: each venue's net quoted price over time, the routing
// winner of each order marked, and the thresholds of armed limit orders on that pair as
// horizontal lines. Points come from the firehose (every order's quotes when it is routed) and
// from the quotes polled for watching limit orders. Memory is bounded: a ring per pair and at
// most MAX_PAIRS pairs (the least recently traded chart gives way).

import { MOVE_PAIRS, VENUES } from "./config.js";
import { startFlow } from "./flow.js";
import { onOrderEvent, orders } from "./orders.js";
import {
  chartsAvailable, COLORS, dots, dropChart, line, makeChart, startResizing,
} from "./plot.js";
import { Ring } from "./ring.js";
import { $, element, fmt, tokenName } from "./util.js";
import { onPrices } from "./watching.js";

const MAX_PAIRS = 4;
const POINTS_PER_PAIR = 240;
const WINNER = VENUES.length + 1; // the ring's column of the winner's price
const pairs = new Map(); // "BASE/QUOTE" -> {base, quote, ring, chart, box, tab, used}
let pinned = null; // the pair the person picked; else the one traded last is shown
const known = new Set(MOVE_PAIRS); // orientations people read prices in: QUOTE per BASE

function orient(tokenIn, tokenOut) {
  // The pair's name and whether a tokenOut-per-tokenIn price must be inverted to read as it.
  if (known.has(`${tokenOut}/${tokenIn}`)) return { name: `${tokenOut}/${tokenIn}`, invert: true };
  if (pairs.has(`${tokenOut}/${tokenIn}`)) return { name: `${tokenOut}/${tokenIn}`, invert: true };
  return { name: `${tokenIn}/${tokenOut}`, invert: false };
}

function thresholdsOf(name) {
  // Armed limit orders on this pair: their limit, as this pair's price.
  const out = [];
  for (const state of orders.values()) {
    const t = state.trigger;
    if (!t || t.kind !== "price" || state.status !== "watching" || !state.tokenIn) continue;
    const { name: pair, invert } = orient(state.tokenIn, state.tokenOut);
    const limit = Number(t.limitPrice);
    if (pair === name && limit > 0) out.push({ price: invert ? 1 / limit : limit, id: state.id });
  }
  return out;
}

function pairChart(name) {
  let pair = pairs.get(name);
  if (pair) {
    pair.used = Date.now();
    return pair;
  }
  if (pairs.size >= MAX_PAIRS) {
    const oldest = [...pairs.values()].sort((a, b) => a.used - b.used)[0];
    dropChart(oldest.chart);
    oldest.box.remove();
    oldest.tab.remove();
    pairs.delete(oldest.name);
    if (pinned === oldest.name) pinned = null;
  }
  const [base, quote] = name.split("/");
  const box = element($("price-charts"), "figure", "chart price-chart");
  box.dataset.pair = name;
  box.dataset.points = "0";
  const caption = element(box, "figcaption", null,
    `${tokenName(base)}/${tokenName(quote)}: ${tokenName(quote)} per ${tokenName(base)}`);
  caption.title = "Each venue's net quoted price (after fees and impact, at the order's size);" +
    " ● marks the routing winner; dashed lines are armed limit orders' prices.";
  const plot = element(box, "div", "plot");
  const tab = element($("price-tabs"), "button", "tab", `${tokenName(base)}/${tokenName(quote)}`);
  tab.type = "button";
  tab.dataset.pair = name;
  tab.addEventListener("click", () => {
    pinned = name;
    show(name);
  });
  pair = { name, base, quote, ring: new Ring(POINTS_PER_PAIR, ["t", ...VENUES, "winner"]), box,
    tab, used: Date.now() };
  pair.chart = makeChart(plot, {
    series: [
      ...VENUES.map((v) => line(v, COLORS[v], { points: { show: true, size: 4 } })),
      dots("winner", COLORS.winner),
    ],
    yLabel: tokenName(quote),
    range: (u, min, max) => priceRange(name, min, max),
    draw: (u) => drawThresholds(u, name),
  });
  pairs.set(name, pair);
  $("price-charts-empty").hidden = true;
  return pair;
}

function show(name) {
  // One pair's chart at a time; the tabs switch between them.
  for (const pair of pairs.values()) {
    const shown = pair.name === name;
    pair.box.hidden = !shown;
    pair.tab.setAttribute("aria-pressed", String(shown));
  }
}

function priceRange(name, min, max) {
  // The data's range, widened to show every armed limit's line, with a little air.
  let lo = min;
  let hi = max;
  for (const { price } of thresholdsOf(name)) {
    lo = lo === null || lo === undefined ? price : Math.min(lo, price);
    hi = hi === null || hi === undefined ? price : Math.max(hi, price);
  }
  if (lo === null || lo === undefined) return [0, 1];
  const pad = (hi - lo) * 0.1 || Math.abs(hi) * 0.002 || 1;
  return [lo - pad, hi + pad];
}

function drawThresholds(u, name) {
  const lines = thresholdsOf(name);
  const box = pairs.get(name)?.box;
  if (box) box.dataset.thresholds = String(lines.length);
  const ctx = u.ctx;
  ctx.save();
  ctx.strokeStyle = COLORS.threshold;
  ctx.fillStyle = COLORS.threshold;
  ctx.setLineDash([6, 4]);
  ctx.lineWidth = window.devicePixelRatio || 1;
  ctx.font = `${11 * (window.devicePixelRatio || 1)}px system-ui, sans-serif`;
  for (const { price } of lines) {
    const y = Math.round(u.valToPos(price, "y", true));
    ctx.beginPath();
    ctx.moveTo(u.bbox.left, y);
    ctx.lineTo(u.bbox.left + u.bbox.width, y);
    ctx.stroke();
    ctx.fillText(`limit ${fmt(price)}`, u.bbox.left + 4, y - 4);
  }
  ctx.restore();
}

function addPoint(tokenIn, tokenOut, prices, winner, atMs = Date.now()) {
  // prices: venue -> tokenOut per tokenIn.
  const { name, invert } = orient(tokenIn, tokenOut);
  const pair = pairChart(name);
  const read = (p) => (p === undefined || !(p > 0) ? null : invert ? 1 / p : p);
  const row = [atMs / 1000, ...VENUES.map((v) => read(prices[v]))];
  row.push(winner ? read(prices[winner]) : null);
  pair.ring.push(row);
  pair.box.dataset.points = String(pair.ring.length);
  pair.dirty = true;
  if (!pinned || !pairs.has(pinned)) show(name);
}

function onEvent(ev, state) {
  const amountIn = Number(state.amountIn);
  if (ev.type !== "building" || !ev.quotes || !state.tokenIn || !(amountIn > 0)) return;
  const prices = {};
  for (const [venue, out] of Object.entries(ev.quotes)) prices[venue] = Number(out) / amountIn;
  addPoint(state.tokenIn, state.tokenOut, prices, ev.chosenDex, Date.parse(ev.at) || Date.now());
}

export function seedPrices(views) {
  // The first snapshot's routed orders, oldest first, so the charts open with recent history.
  // A view has no routing time: its last change stands in (a second or two later, at most
  // the time it took to land).
  if (!chartsAvailable() || pairs.size) return;
  const routed = views.filter((v) => v.quotes && v.quotes.length && Number(v.amountIn) > 0)
    .sort((a, b) => Date.parse(a.updatedAt) - Date.parse(b.updatedAt));
  for (const view of routed) {
    const prices = {};
    for (const q of view.quotes) prices[q.venue] = Number(q.amountOut) / Number(view.amountIn);
    const winner = view.routing ? view.routing.chosenDex : view.chosenDex;
    addPoint(view.tokenIn.symbol, view.tokenOut.symbol, prices, winner, Date.parse(view.updatedAt));
  }
}

function redraw() {
  for (const pair of pairs.values()) {
    if (pair.dirty) {
      pair.dirty = false;
      pair.chart.setData(pair.ring.arrays());
    } else {
      pair.chart.redraw(false, false); // thresholds may have come or gone
    }
  }
}

export function startCharts() {
  if (!chartsAvailable()) { // the vendored script did not load: say so, keep the rest working
    $("charts").dataset.unavailable = "true";
    $("price-charts-empty").textContent = "Charts unavailable: uPlot did not load.";
    return;
  }
  onOrderEvent(onEvent);
  onPrices((tokenIn, tokenOut, best) => addPoint(tokenIn, tokenOut, best.prices, null));
  startFlow();
  startResizing();
  setInterval(redraw, 1_000);
}
