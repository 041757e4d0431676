// The dashboard's fixed numbers and lists, in one place.

export const TOKENS = ["SOL", "USDC", "USDT", "BONK", "JUP", "WIF", "RAY"];
export const STATUSES = new Set([
  "pending", "watching", "routing", "building", "submitted",
  "confirmed", "failed", "cancelled", "expired",
]);
export const TERMINAL = new Set(["confirmed", "failed", "cancelled", "expired"]);
export const VENUES = ["raydium", "meteora"];
export const MAX_ROWS = 300; // oldest rows beyond this are dropped, so a long session stays light
export const THROUGHPUT_WINDOW_MS = 10_000;
export const RESYNC_EVERY_MS = 5_000; // the active count is checked against the server this often
export const BACKOFF_MIN_MS = 500;
export const BACKOFF_MAX_MS = 10_000;
// Balances are re-read this often, and after every finished order.
export const WALLET_EVERY_MS = 4_000;
export const WALLET_AFTER_ORDER_MS = 250; // a burst's finished orders share one read
export const LAUNCHES_EVERY_MS = 15_000; // the simulator may launch tokens of its own
export const MAX_LAUNCHES_SHOWN = 30;
export const LAUNCH_DECIMALS = 6;
// The best price beside watching limit orders is polled this often, while any is shown.
export const QUOTES_EVERY_MS = 2_000;
export const COUNTDOWN_EVERY_MS = 1_000;
export const SNIPER_PAYS_WITH = new Set(["SOL", "USDC"]);
// The pairs the price mover offers first; launched tokens join as LAUNCH/SOL.
export const MOVE_PAIRS = ["SOL/USDC", "SOL/USDT", "JUP/USDC", "RAY/USDC", "BONK/SOL", "WIF/SOL"];
export const BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
export const SYMBOL_STEMS = [
  "MOON", "PEPE", "FROG", "PUMP", "APE", "CAT", "ROCKET", "GIGA", "WOOF", "ZAP",
];
// The burst trades a spread of pairs, so both venues and several pools show up.
export const BURST = [
  ["SOL", "USDC", "0.5"], ["USDC", "SOL", "40"], ["SOL", "BONK", "0.2"], ["USDC", "JUP", "25"],
  ["JUP", "USDC", "30"], ["SOL", "WIF", "0.3"], ["RAY", "USDC", "8"], ["USDT", "SOL", "35"],
  ["SOL", "USDT", "0.4"], ["WIF", "SOL", "12"],
];
export const KEY_STORAGE = "oee.apiKey"; // this tab only (sessionStorage), until "Forget key"
