// The order form: market, limit and sniper orders, each type showing only its own fields.

import { postJson } from "./api.js";
import { BASE58, SNIPER_PAYS_WITH, TOKENS, VENUES } from "./config.js";
import { $, decimalText, fmt, say, shortId, shortKey } from "./util.js";
import { bestPrice } from "./watching.js";

let limitTouched = false; // the person typed a limit price: stop prefilling it
let limitQuoteSeq = 0;

export function submitOrder(body) {
  return postJson("/api/orders/execute", body);
}

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

function fillTokens(select, chosen) {
  for (const symbol of TOKENS) {
    const option = document.createElement("option");
    option.value = option.textContent = symbol;
    option.selected = symbol === chosen;
    select.appendChild(option);
  }
}

export function startForm() {
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
  onTypeChange();
}
