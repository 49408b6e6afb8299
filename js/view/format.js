// Number, duration, time and span-type formatting (pure; no DOM).

export const TYPES = {
  CHAIN: ["CHAIN", "chain"], AGENT: ["AGENT", "agent"], LLM: ["LLM", "llm"],
  CHAT_MODEL: ["CHAT", "llm"], TOOL: ["TOOL", "tool"], RETRIEVER: ["RETR", "retriever"],
  EMBEDDING: ["EMBED", "embedding"], RERANKER: ["RERANK", "retriever"], PARSER: ["PARSE", "other"],
  MEMORY: ["MEM", "other"], UNKNOWN: ["SPAN", "other"],
};

/** [chip label, colour family] of a span type. */
export function typeInfo(type) {
  return TYPES[type] || [String(type || "SPAN").slice(0, 6).toUpperCase(), "other"];
}

/** A duration in microseconds as "1.23 ms", "4.5 s", "2m 3s"; negative or missing -> "…". */
export function fmtDur(us) {
  if (us === null || us === undefined || !(us >= 0)) return "…";
  if (us < 1000) return (us / 1000).toFixed(2) + " ms";
  if (us < 1e6) return (us < 1e5 ? (us / 1000).toFixed(1) : String(Math.round(us / 1000))) + " ms";
  const s = us / 1e6;
  if (s < 60) return s.toFixed(s < 10 ? 2 : 1) + " s";
  const m = Math.floor(s / 60);
  if (m < 60) return m + "m " + Math.floor(s % 60) + "s";
  return Math.floor(m / 60) + "h " + (m % 60) + "m";
}

/** 12345 -> "12,345". */
export function fmtInt(n) {
  return Number(n).toLocaleString("en-US");
}

/** Token counts, short: 999, 1.2k, 12k, 1.5M. */
export function fmtTok(n) {
  if (n < 1000) return String(n);
  if (n < 1e6) return (n / 1000).toFixed(n < 1e4 ? 1 : 0) + "k";
  return (n / 1e6).toFixed(1) + "M";
}

/** A USD cost: "$0.0012", "$1.23". */
export function fmtCost(usd) {
  if (usd === null || usd === undefined || !(usd >= 0)) return "";
  if (usd === 0) return "$0";
  if (usd < 0.01) return "$" + usd.toPrecision(2);
  return "$" + usd.toFixed(2);
}

const pad = (n, w = 2) => String(n).padStart(w, "0");

/** Nanoseconds since the epoch as local "YYYY-MM-DD HH:MM:SS.mmm" (empty when unknown). */
export function fmtTime(ns, { date = true } = {}) {
  if (!ns) return "";
  const d = new Date(Math.floor(Number(ns) / 1e6));
  if (Number.isNaN(d.getTime())) return "";
  const time = pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds()) + "." + pad(d.getMilliseconds(), 3);
  if (!date) return time;
  return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " + time;
}

/** Bytes/characters as "12 KB". */
export function fmtSize(n) {
  if (n < 1000) return n + " chars";
  if (n < 1e6) return Math.round(n / 1000) + "K chars";
  return (n / 1e6).toFixed(1) + "M chars";
}
