// The simulator's fault kinds, each settable alone from the page (POST /api/sim/faults with
// just that kind), plus the two demo shortcuts: raise the transient rate, reset every kind.

import { getJson, postJson } from "./api.js";
import { $, say } from "./util.js";

const DEMO_FAULT_RATE = 0.3;
const FAULT_KINDS = ["rate", "slowConfirmRate", "expiredBlockhashRate", "slippageMoveRate"];
const percentText = (rate) => `${Math.round(rate * 1000) / 10} %`;

function showFaults(rates) {
  for (const kind of FAULT_KINDS) {
    const rate = rates[kind];
    const row = document.querySelector(`.fault-kind[data-kind="${kind}"]`);
    if (rate === undefined) { // a simulator without this kind
      row.dataset.rate = "";
      row.querySelector("input").disabled = row.querySelector("button").disabled = true;
      continue;
    }
    row.dataset.rate = String(rate);
    const input = row.querySelector("input");
    if (document.activeElement !== input) input.value = String(Math.round(rate * 1000) / 10);
  }
  $("fault-rate").textContent = percentText(rates.rate);
  $("raise-faults").disabled = rates.rate >= DEMO_FAULT_RATE;
  $("reset-faults").disabled = FAULT_KINDS.every((kind) => !rates[kind]);
}

function faultsUnavailable(body) {
  $("fault-rate").textContent = "unavailable";
  const controls = ["raise-faults", "reset-faults"].map($);
  controls.push(...document.querySelectorAll("#fault-form input, #fault-form button"));
  for (const control of controls) {
    control.disabled = true;
    control.title = `${body.code}: ${body.message}`;
  }
}

async function loadFaults() {
  const reply = await getJson("/api/sim/faults");
  if (reply.ok) showFaults(reply.body);
  else if (reply.status === 0) $("fault-rate").textContent = "unknown";
  else faultsUnavailable(reply.body);
}

async function setFaults(rates, what) {
  const status = $("demo-status");
  const reply = await postJson("/api/sim/faults", rates);
  if (reply.ok) {
    showFaults(reply.body);
    delete status.dataset.code;
    say(status, "ok", [what(reply.body)]);
  } else {
    status.dataset.code = reply.body.code;
    say(status, "error", [[reply.body.code], `: ${reply.body.message}`]);
  }
}

function setKind(kind) {
  const row = document.querySelector(`.fault-kind[data-kind="${kind}"]`);
  const percent = Number(row.querySelector("input").value);
  const label = row.querySelector("label").textContent;
  if (row.querySelector("input").value.trim() === "" || !(percent >= 0 && percent <= 100)) {
    const status = $("demo-status");
    status.dataset.code = "INVALID_FAULT_RATE";
    say(status, "error", [`${label}: type a percent from 0 to 100.`]);
    return;
  }
  setFaults({ [kind]: percent / 100 }, (rates) => `${label}: now ${percentText(rates[kind])}.`);
}

export function startFaults() {
  $("raise-faults").addEventListener("click", () => setFaults({ rate: DEMO_FAULT_RATE },
    (rates) => `Fault rate is now ${percentText(rates.rate)}.`));
  $("reset-faults").addEventListener("click", () => setFaults(
    Object.fromEntries(FAULT_KINDS.map((kind) => [kind, 0])), () => "Every fault kind is off."));
  const form = $("fault-form");
  form.addEventListener("submit", (event) => { // Enter in a field sets that field's kind
    event.preventDefault();
    const kind = document.activeElement && document.activeElement.dataset.kind;
    if (kind) setKind(kind);
  });
  for (const button of form.querySelectorAll("button[data-kind]")) {
    button.addEventListener("click", () => setKind(button.dataset.kind));
  }
  loadFaults();
}
