// Formatting and small DOM helpers shared by every panel. Server text only ever goes into the
// page as text (textContent, text nodes), never as HTML.

export const $ = (id) => document.getElementById(id);

// mint -> symbol of the tokens launched in the simulator, so they are named, not abbreviated.
export const launchSymbols = new Map();

const numberFormat = new Intl.NumberFormat(undefined, { maximumSignificantDigits: 6 });
export function fmt(value) {
  if (value === null || value === undefined || value === "") return "—";
  const n = Number(value);
  return Number.isFinite(n) ? numberFormat.format(n) : String(value);
}
export const shortId = (id) => id.slice(0, 8);
export const shortKey = (key) => (key.length > 12 ? `${key.slice(0, 4)}…${key.slice(-4)}` : key);
// A token for people: a launched mint by its symbol, an unlisted one (a sniper's) shortened.
export const tokenName = (symbol) => (symbol ? launchSymbols.get(symbol) || shortKey(symbol) : "");

export function decimalText(n, digits = 6) {
  // A number as plain decimal text the API reads (never an exponent): 1.5e7 -> "15000000".
  return n.toLocaleString("en-US", { maximumSignificantDigits: digits, useGrouping: false });
}

export function untilText(ms) {
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

export function durationText(ms) {
  // A stage's length: "850 ms", "2.4 s", "3m 05s", "2h 10m".
  if (!Number.isFinite(ms) || ms < 0) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

const balanceFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 4 });
export function fmtBalance(text) {
  // Exact decimal strings from the API; shown rounded, kept exact in the title.
  const n = Number(text);
  return Number.isFinite(n) ? balanceFormat.format(n) : String(text);
}

export function say(el, kind, parts) {
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

export function element(parent, tag, className, text) {
  // A new child element, with a class and text when given.
  const el = parent.appendChild(document.createElement(tag));
  if (className) el.className = className;
  if (text !== undefined && text !== null) el.textContent = String(text);
  return el;
}
