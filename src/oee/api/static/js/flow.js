// Throughput and latency from the firehose, in 5-second buckets over the last ten minutes:
// orders finished per minute (confirmed and failed), and the p50 and p99 time from POST to the
// terminal event (for a limit or sniper order, from its trigger firing: its wait is not
// latency). Times are the server's event times. Memory is bounded: a ring of buckets, a capped
// sample per bucket, and at most MAX_OPEN orders' start times.

import { onOrderEvent } from "./orders.js";
import { COLORS, line, makeChart } from "./plot.js";
import { Ring } from "./ring.js";
import { $, element } from "./util.js";

const BUCKET_S = 5;
const BUCKETS = 120; // ten minutes
const MAX_SAMPLES = 2_000; // per bucket: enough for a p99
const MAX_OPEN = 5_000;
const started = new Map(); // orderId -> ms of its POST (or firing), until it finishes
const flow = new Ring(BUCKETS, ["t", "confirmed", "failed", "p50", "p99"]);
let samples = []; // this bucket's durations, ms
let totalFinished = 0;
let totalSamples = 0;
let throughputChart = null;
let latencyChart = null;

function bucketStart(ms) {
  return Math.floor(ms / 1000 / BUCKET_S) * BUCKET_S;
}

function quantile(sorted, q) {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

function roll(now) {
  // Close the current bucket when its 5 s are over, and open empty ones up to now.
  const t = bucketStart(now);
  if (!flow.length) { // before the page opened nothing is known: empty, not zero
    for (let s = t - (BUCKETS - 1) * BUCKET_S; s < t; s += BUCKET_S) {
      flow.push([s, null, null, null, null]);
    }
    flow.push([t, 0, 0, null, null]);
    return;
  }
  if (flow.last(0) === t) return;
  closeBucket();
  const from = Math.max(flow.last(0) + BUCKET_S, t - (BUCKETS - 1) * BUCKET_S);
  for (let s = from; s <= t; s += BUCKET_S) flow.push([s, 0, 0, null, null]);
}

function closeBucket() {
  const sorted = samples.sort((a, b) => a - b);
  flow.setLast(3, quantile(sorted, 0.5));
  flow.setLast(4, quantile(sorted, 0.99));
  samples = [];
}

function onEvent(ev) {
  const at = Date.parse(ev.at);
  if (!Number.isFinite(at)) return;
  if ((ev.type === "pending" && ev.seq === 1) || (ev.type === "routing" && ev.triggeredBy)) {
    if (started.size >= MAX_OPEN) started.delete(started.keys().next().value);
    started.set(ev.orderId, at);
    return;
  }
  if (ev.type === "watching") {
    started.delete(ev.orderId); // its wait is not latency: timed again from its firing
    return;
  }
  if (ev.type !== "confirmed" && ev.type !== "failed") return;
  roll(Date.now());
  flow.setLast(ev.type === "confirmed" ? 1 : 2, flow.last(ev.type === "confirmed" ? 1 : 2) + 1);
  totalFinished += 1;
  const start = started.get(ev.orderId);
  started.delete(ev.orderId);
  if (start !== undefined && at >= start) {
    if (samples.length < MAX_SAMPLES) samples.push(at - start);
    else samples[Math.floor(Math.random() * MAX_SAMPLES)] = at - start; // keep a fair sample
    totalSamples += 1;
  }
}

function redraw() {
  roll(Date.now());
  const [t, confirmed, failed, p50, p99] = flow.arrays();
  // The open bucket's percentiles so far, so a burst shows at once.
  const sorted = [...samples].sort((a, b) => a - b);
  p50[p50.length - 1] = quantile(sorted, 0.5);
  p99[p99.length - 1] = quantile(sorted, 0.99);
  const perMinute = (counts) => counts.map((n) => (n === null ? null : (n * 60) / BUCKET_S));
  throughputChart.setData([t, perMinute(confirmed), perMinute(failed)]);
  latencyChart.setData([t, p50.map(toSeconds), p99.map(toSeconds)]);
  $("chart-throughput").dataset.finished = String(totalFinished);
  $("chart-latency").dataset.samples = String(totalSamples);
}

const toSeconds = (ms) => (ms === null ? null : ms / 1000);

export function startFlow() {
  const throughputBox = $("chart-throughput");
  const latencyBox = $("chart-latency");
  throughputChart = makeChart(element(throughputBox, "div", "plot"), {
    series: [line("confirmed/min", COLORS.ok, { fill: "rgba(22,130,74,0.08)" }),
      line("failed/min", COLORS.bad)],
    yLabel: "orders/min",
    range: (u, min, max) => [0, Math.max(10, (max || 0) * 1.15)],
  });
  latencyChart = makeChart(element(latencyBox, "div", "plot"), {
    series: [line("p50", COLORS.p50, { points: { show: true, size: 3 } }),
      line("p99", COLORS.p99, { points: { show: true, size: 3 } })],
    yLabel: "seconds",
    range: (u, min, max) => [0, Math.max(1, (max || 0) * 1.15)],
  });
  onOrderEvent(onEvent);
  redraw();
  setInterval(redraw, 1_000);
}
