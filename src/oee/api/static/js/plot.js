// The few things every chart shares: uPlot (vendored, loaded by the page before the modules),
// a common look, and resizing with its container.

import { fmt } from "./util.js";

const COLORS = { raydium: "#7c4dff", meteora: "#e0761b", ok: "#16824a", bad: "#c2352b",
  p50: "#2150b8", p99: "#b1291f", winner: "#1c2333", threshold: "#23639b" };
export { COLORS };

const uPlot = window.uPlot;
export const chartsAvailable = () => typeof uPlot === "function";
const charts = new Set();
let observer = null;

function timeRange(u, min, max) {
  // No data yet: the last minute; one instant: a minute around it (not uPlot's years).
  if (min === null || min === undefined) {
    const now = Date.now() / 1000;
    return [now - 60, now];
  }
  return max - min < 10 ? [max - 60, max + 2] : [min, max];
}

export function makeChart(container, { series, yLabel, height = 150, range, draw }) {
  // A time chart in `container` (x in seconds), sized to its width.
  const axis = { stroke: "#6b7489", grid: { stroke: "#eef1f6" }, ticks: { stroke: "#e3e7ef" },
    font: "11px system-ui, sans-serif" };
  const opts = {
    width: Math.max(200, container.clientWidth),
    height,
    series: [{}, ...series],
    scales: { x: { time: true, range: timeRange }, y: range ? { range } : {} },
    axes: [
      { ...axis, size: 32 },
      { ...axis, label: yLabel, labelSize: 14, labelFont: "11px system-ui, sans-serif", size: 58,
        values: (u, splits) => splits.map((v) => fmt(v)) },
    ],
    legend: { live: false }, // the series' names only: the table and the story carry the numbers
    cursor: { drag: { x: false, y: false } },
    hooks: draw ? { draw: [draw] } : {},
  };
  const empty = [[], ...series.map(() => [])];
  const chart = new uPlot(opts, empty, container);
  chart.container = container;
  charts.add(chart);
  if (observer) observer.observe(container);
  return chart;
}

export function dropChart(chart) {
  charts.delete(chart);
  if (observer) observer.unobserve(chart.container);
  chart.destroy();
}

export function startResizing() {
  // Charts follow their container's width (the layout is fluid from 1280 to 1920 px).
  observer = new ResizeObserver(() => {
    for (const chart of charts) {
      const width = Math.max(200, chart.container.clientWidth);
      if (Math.abs(width - chart.width) > 1) chart.setSize({ width, height: chart.height });
    }
  });
  for (const chart of charts) observer.observe(chart.container);
}

export function line(label, stroke, extra = {}) {
  return { label, stroke, width: 1.5, spanGaps: true, points: { show: false }, ...extra };
}

export function dots(label, stroke, size = 7) {
  // A series drawn as points only (no line): the routing winner's marks.
  return { label, stroke, fill: stroke, paths: () => null, points: { show: true, size } };
}
