// The engine wallet: its address (click to copy) and balances, re-read every few seconds and
// soon after every finished order.

import { api } from "./api.js";
import { WALLET_AFTER_ORDER_MS } from "./config.js";
import { $, fmtBalance, launchSymbols, say, shortKey } from "./util.js";

let walletTimer = null;
let walletLoading = false;
let walletAgain = false;

export function walletSoon() {
  if (walletTimer === null) {
    walletTimer = setTimeout(() => {
      walletTimer = null;
      loadWallet();
    }, WALLET_AFTER_ORDER_MS);
  }
}

export async function loadWallet() {
  if (walletLoading) { // one read at a time; ask for one more when this one is done
    walletAgain = true;
    return;
  }
  walletLoading = true;
  try {
    const reply = await api("/api/wallet", { cache: "no-store" });
    const body = await reply.json();
    if (reply.ok) showWallet(body);
    else walletUnavailable(body);
  } catch (error) {
    walletUnavailable({ code: "NETWORK_ERROR", message: String(error) });
  } finally {
    walletLoading = false;
    if (walletAgain) {
      walletAgain = false;
      walletSoon();
    }
  }
}

function showWallet(wallet) {
  const address = $("wallet-address");
  if (address.dataset.address !== wallet.address) {
    address.dataset.address = wallet.address;
    address.textContent = shortKey(wallet.address);
    address.title = `${wallet.address}\nClick to copy`;
  }
  address.disabled = false;
  const sol = $("wallet-sol");
  sol.textContent = fmtBalance(wallet.sol);
  sol.title = `${wallet.sol} SOL (${wallet.lamports} lamports)`;
  sol.dataset.lamports = String(wallet.lamports);
  const list = $("wallet-tokens");
  list.textContent = "";
  for (const token of wallet.tokens) {
    const item = document.createElement("li");
    item.dataset.mint = token.mint;
    item.classList.toggle("zero", token.amount === "0");
    const name = token.symbol || launchSymbols.get(token.mint);
    const symbol = item.appendChild(document.createElement("span"));
    symbol.className = name ? "sym" : "sym mint";
    symbol.textContent = name || shortKey(token.mint);
    symbol.title = token.mint;
    const amount = item.appendChild(document.createElement("span"));
    amount.className = "amount";
    amount.textContent = fmtBalance(token.uiAmount);
    amount.title = `${token.uiAmount} (${token.amount} base units, ${token.decimals} decimals)`;
    item.dataset.symbol = name || "";
    list.appendChild(item);
  }
  const status = $("wallet-status");
  delete status.dataset.code;
  status.className = "status-line";
  status.textContent = wallet.slot === undefined ? "" : `as of slot ${wallet.slot}`;
}

function walletUnavailable(body) {
  const status = $("wallet-status");
  status.dataset.code = body.code;
  say(status, "error", [[body.code], `: ${body.message}`]);
}

async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch (_) {
    // No clipboard API here (an insecure origin, or permission refused): the older way.
  }
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.style.position = "fixed";
  area.style.opacity = "0";
  document.body.appendChild(area);
  area.select();
  let done = false;
  try {
    done = document.execCommand("copy");
  } catch (_) {
    done = false;
  }
  area.remove();
  return done;
}

let copiedTimer = null;

async function onCopyAddress() {
  const address = $("wallet-address").dataset.address;
  if (!address) return;
  const done = await copyText(address);
  const note = $("wallet-copied");
  note.textContent = done ? "copied" : "select and copy it from the tooltip";
  note.dataset.copied = done ? "true" : "false";
  clearTimeout(copiedTimer);
  copiedTimer = setTimeout(() => {
    note.textContent = "";
    delete note.dataset.copied;
  }, 1_500);
}

export function startWallet() {
  $("wallet-address").addEventListener("click", onCopyAddress);
}
