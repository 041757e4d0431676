// The timeline part of an order's story: each stage it went through, when, for how long, and
// what happened there (the event's own details).

import { TERMINAL } from "./config.js";
import { durationText, element, fmt, shortKey, tokenName } from "./util.js";

export function timelineFromView(order) {
  // Without GET /api/orders/{id}/timeline (an older engine): what the order view alone tells,
  // its acceptance, each attempt's end and its last change.
  const events = [{ type: "pending", at: order.createdAt, seq: 1, attempt: 1 }];
  for (const a of order.attempts) {
    const type = a.outcome === "retried" ? "pending" : a.outcome;
    events.push({ type, at: a.at, attempt: a.attempt, error: a.error, reason: a.reason });
  }
  const last = events[events.length - 1];
  if (last.type !== order.status) {
    events.push({ type: order.status, at: order.updatedAt, attempt: order.attempt });
  }
  return events;
}

function detail(ev, order) {
  // What a stage's event says, in words.
  const out = tokenName(order.tokenOut.symbol);
  switch (ev.type) {
    case "pending":
      if (ev.error) {
        const wait = ev.retryInMs === undefined
          ? "" : ` (next try in ${durationText(ev.retryInMs)})`;
        return `attempt ${ev.attempt - 1} will be retried: ${ev.error}: ${ev.reason}${wait}`;
      }
      return `accepted: ${fmt(order.amountIn)} ${order.tokenIn.symbol} → ${out}`;
    case "watching":
      if (ev.error) return `re-armed: ${ev.reason || ev.error}`;
      return "armed: waiting for its trigger";
    case "routing":
      if (ev.triggeredBy) {
        const by = ev.triggeredBy;
        const at = by.price === undefined ? "" : ` at ${fmt(by.price)}`;
        return `fired${at}${by.venue ? ` on ${by.venue}` : ""}; quoting the venues`;
      }
      return `attempt ${ev.attempt}: quoting the venues`;
    case "building":
      if (!ev.chosenDex) return "venue chosen, building and signing";
      return `${ev.chosenDex} chosen` +
        (ev.marginBps === undefined ? "" : ` by ${fmt(ev.marginBps)} bps`) + "; signing";
    case "submitted":
      return ev.txHash ? `sent: tx ${shortKey(ev.txHash)}` : "sent to the chain";
    case "confirmed":
      return ev.amountOut === undefined
        ? "landed"
        : `landed: ${fmt(ev.amountOut)} ${out} at ${fmt(ev.executedPrice)}`;
    case "failed":
      return ev.error ? `${ev.error}: ${ev.reason}` : "gave up";
    default:
      return ev.reason || "";
  }
}

export function storyTimeline(el, order, events, exact) {
  if (!exact) {
    element(el, "p", "hint",
      "From the order's own fields: this engine has no GET /api/orders/{id}/timeline.");
  }
  const list = element(el, "ol", "timeline");
  const times = events.map((ev) => Date.parse(ev.at));
  const terminal = TERMINAL.has(order.status);
  events.forEach((ev, i) => {
    const item = element(list, "li");
    item.dataset.type = ev.type;
    const head = element(item, "div", "stage");
    const pill = element(head, "span", `pill s-${ev.type}`, ev.type);
    pill.title = `seq ${ev.seq ?? "?"}, attempt ${ev.attempt ?? "?"}`;
    const when = element(head, "time", "at", new Date(ev.at).toLocaleTimeString());
    when.dateTime = ev.at;
    if (i > 0) element(head, "span", "since", `+${durationText(times[i] - times[0])}`);
    let ms;
    let label;
    if (i + 1 < events.length) {
      ms = times[i + 1] - times[i];
      label = durationText(ms);
    } else if (!terminal) {
      ms = Date.now() - times[i];
      label = `${durationText(ms)} so far`;
    }
    if (label) {
      const span = element(head, "span", "took", label);
      span.dataset.ms = String(Math.round(ms));
    }
    const words = detail(ev, order);
    if (words) element(item, "div", "what", words);
  });
  if (events.length > 1) {
    const total = times[times.length - 1] - times[0];
    const span = terminal ? total : Date.now() - times[0];
    const label = terminal ? "Start to end" : "So far";
    const p = element(el, "p", "total", `${label}: ${durationText(span)}`);
    p.dataset.ms = String(Math.round(total));
  }
}
