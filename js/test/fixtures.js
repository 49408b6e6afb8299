// Payloads shaped like mlflow_trace_nb/display/payload.py's, built by hand.

/** A trace entry: spans = [[name, type, status, parent, start, dur]]. */
export function traceEntry(id, spans, extra = {}) {
  const strings = [];
  const intern = (s) => { let i = strings.indexOf(s); if (i < 0) { i = strings.length; strings.push(s); } return i; };
  const cols = { name: [], type: [], status: [], parent: [], start: [], dur: [] };
  for (const [name, type, status, parent, start, dur] of spans) {
    cols.name.push(intern(name)); cols.type.push(intern(type)); cols.status.push(intern(status));
    cols.parent.push(parent); cols.start.push(start); cols.dur.push(dur);
  }
  const models = {};
  for (const [k, v] of Object.entries(extra.models || {})) models[k] = intern(v);
  return {
    id, name: spans.length ? spans[0][0] : "?", status: extra.status || "OK", running: !!extra.running,
    total_us: extra.total_us ?? Math.max(1, ...spans.map((s) => s[4] + Math.max(0, s[5]))),
    start_ns: extra.start_ns ?? 1_700_000_000_000_000_000, count: spans.length, strings, cols,
    tokens: extra.tokens || {}, details: extra.details || {}, models,
    preview_in: extra.preview_in ?? null, preview_out: extra.preview_out ?? null,
    tags: extra.tags || {}, metadata: extra.metadata || {},
  };
}

/** agent -> [retrieve, tool(ERROR), chat(LLM)] */
export function agentTrace(id = "tr-1", extra = {}) {
  return traceEntry(id, [
    ["agent", "AGENT", "OK", -1, 0, 1000],
    ["retrieve", "RETRIEVER", "OK", 0, 10, 100],
    ["tool", "TOOL", "ERROR", 0, 120, 200],
    ["chat", "CHAT_MODEL", "OK", 0, 400, 500],
  ], { tokens: { 3: [120, 30, 150] }, models: { 3: "gpt-4o-mini" }, ...extra });
}
