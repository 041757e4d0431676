// The live dashboard: every order over the WS /ws/orders firehose, a submit form for market,
// limit and sniper orders, demo controls (faults by kind, price moves, a burst), the engine
// wallet, the simulator's pool launches, live charts (each pair's venue prices, throughput,
// latency) and, on a click on a row, the order's whole story.
// Plain JavaScript modules on the public API only; no framework, no build step, nothing from
// the internet (uPlot is vendored beside the page). With API keys it asks for one on the first
// 401 and keeps it for the tab (sessionStorage).

import { startKeys } from "./api.js";
import { startCharts } from "./charts.js";
import {
  COUNTDOWN_EVERY_MS, LAUNCHES_EVERY_MS, RESYNC_EVERY_MS, WALLET_EVERY_MS,
} from "./config.js";
import { startDemo } from "./demo.js";
import { startFaults } from "./faults.js";
import { connect } from "./firehose.js";
import { startForm } from "./form.js";
import { loadLaunches, startLaunches } from "./launches.js";
import { resyncActive, updateThroughput } from "./stats.js";
import { startStory } from "./story.js";
import { startTable, tickCountdowns } from "./table.js";
import { loadWallet, startWallet } from "./wallet.js";

function start() {
  startKeys();
  startForm();
  startTable();
  startStory();
  startDemo();
  startFaults();
  startWallet();
  startLaunches();
  startCharts();
  loadLaunches().then(loadWallet); // launched symbols name the wallet's new tokens
  connect();
  setInterval(updateThroughput, 500);
  setInterval(tickCountdowns, COUNTDOWN_EVERY_MS);
  setInterval(resyncActive, RESYNC_EVERY_MS);
  setInterval(loadWallet, WALLET_EVERY_MS);
  setInterval(loadLaunches, LAUNCHES_EVERY_MS);
}

start();
