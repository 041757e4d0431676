// The simulator's token launches: launch one from the page (optionally on a given mint, such
// as the one a sniper waits for), and the list of every launch so far.

import { api, postJson } from "./api.js";
import { LAUNCH_DECIMALS, MAX_LAUNCHES_SHOWN, SYMBOL_STEMS } from "./config.js";
import { addMovePair } from "./demo.js";
import { orders } from "./orders.js";
import { render } from "./table.js";
import { $, fmt, launchSymbols, say, shortKey } from "./util.js";

const launches = new Map(); // mint -> launch, in the order heard of

function suggestSymbol() {
  const stem = SYMBOL_STEMS[Math.floor(Math.random() * SYMBOL_STEMS.length)];
  // A digit keeps it clear of the simulator's own random launches (letters only).
  $("launch-symbol").value = `${stem}${10 + Math.floor(Math.random() * 90)}`;
}

function addLaunch(launch, fresh) {
  if (launches.has(launch.mint)) return false;
  launches.set(launch.mint, { ...launch, fresh });
  launchSymbols.set(launch.mint, launch.symbol);
  if (launch.quote && launch.quote.symbol) addMovePair(`${launch.symbol}/${launch.quote.symbol}`);
  return true;
}

function renderLaunches() {
  const list = $("launches");
  list.textContent = "";
  const newest = [...launches.values()].reverse();
  for (const launch of newest.slice(0, MAX_LAUNCHES_SHOWN)) {
    const item = document.createElement("li");
    item.dataset.symbol = launch.symbol;
    item.dataset.mint = launch.mint;
    if (launch.fresh) item.classList.add("new");
    launch.fresh = false;
    const symbol = item.appendChild(document.createElement("span"));
    symbol.className = "sym";
    symbol.textContent = launch.symbol;
    const mint = item.appendChild(document.createElement("span"));
    mint.className = "mint";
    mint.textContent = shortKey(launch.mint);
    mint.title = `mint ${launch.mint}`;
    const price = item.appendChild(document.createElement("span"));
    price.className = "price";
    price.textContent = `$${fmt(launch.priceUsd)}`;
    price.title = `opening price ${launch.priceUsd} USD; ${launch.liquidityUsd} USD a pool`;
    const venues = item.appendChild(document.createElement("span"));
    venues.className = "venues";
    const quote = launch.quote ? launch.quote.symbol : "?";
    const names = launch.pools.map((p) => p.venue.charAt(0).toUpperCase() + p.venue.slice(1));
    venues.textContent = `${names.join(" · ")}, paired with ${quote}`;
    venues.title = launch.pools.map((p) => `${p.venue} pool ${p.address}`).join("\n");
    list.appendChild(item);
  }
  if (newest.length > MAX_LAUNCHES_SHOWN) {
    const more = document.createElement("li");
    more.className = "more";
    more.textContent = `+ ${newest.length - MAX_LAUNCHES_SHOWN} earlier`;
    list.appendChild(more);
  }
  $("launch-count").textContent = newest.length ? `(${newest.length})` : "";
  $("launches-empty").hidden = newest.length > 0;
}

export async function loadLaunches() {
  try {
    const reply = await api("/api/sim/pools", { cache: "no-store" });
    const body = await reply.json();
    if (!reply.ok) {
      launchesUnavailable(body);
      return;
    }
    let added = false;
    for (const launch of body) added = addLaunch(launch, false) || added;
    if (added || !$("launches").childElementCount) renderLaunches();
  } catch (_) {
    // Offline: the next poll tries again.
  }
}

function launchesUnavailable(body) {
  const empty = $("launches-empty");
  empty.hidden = false;
  empty.textContent = `Launches unavailable (${body.code}).`;
  empty.title = body.message;
  $("launch").disabled = true;
  $("launch").title = `${body.code}: ${body.message}`;
}

async function onLaunch(event) {
  event.preventDefault();
  const status = $("launch-status");
  const button = $("launch");
  const symbol = $("launch-symbol").value.trim();
  button.disabled = true;
  say(status, "", ["Launching ", [symbol || "…"], "…"]);
  const mint = $("launch-mint").value.trim();
  const request = { symbol, decimals: LAUNCH_DECIMALS };
  if (mint) request.mint = mint; // e.g. the mint a sniper was armed on
  const reply = await postJson("/api/sim/pools", request);
  button.disabled = false;
  if (reply.ok) {
    const launch = reply.body;
    status.dataset.mint = launch.mint;
    delete status.dataset.code;
    say(status, "ok", ["Launched ", [launch.symbol], ` at ${shortKey(launch.mint)}.`]);
    addLaunch(launch, true);
    renderLaunches();
    suggestSymbol();
    $("launch-mint").value = "";
    for (const state of orders.values()) {
      if (state.tokenOut === launch.mint) render(state); // a sniper's target has a name now
    }
  } else {
    delete status.dataset.mint;
    status.dataset.code = reply.body.code;
    say(status, "error", [[reply.body.code], `: ${reply.body.message}`]);
  }
}

export function startLaunches() {
  $("launch-form").addEventListener("submit", onLaunch);
  $("launch-suggest").addEventListener("click", suggestSymbol);
  suggestSymbol();
}
