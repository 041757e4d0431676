// The demo controls: a burst of twenty orders, and moving a pair's price on both venues.

import { postJson } from "./api.js";
import { BURST, MOVE_PAIRS } from "./config.js";
import { submitOrder } from "./form.js";
import { $, fmt, say } from "./util.js";
import { pollingPrices, pollPrices } from "./watching.js";

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

export function addMovePair(pair) {
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
  if (pollingPrices()) pollPrices(); // watching limit orders see the new price now
}

export function startDemo() {
  for (const pair of MOVE_PAIRS) addMovePair(pair);
  $("move-form").addEventListener("submit", (event) => {
    event.preventDefault();
    movePrice(Number($("move-percent").value));
  });
  for (const button of document.querySelectorAll("#move-form button[data-percent]")) {
    button.addEventListener("click", () => movePrice(Number(button.dataset.percent)));
  }
  $("burst").addEventListener("click", onBurst);
}
