// The payload (see mlflow_trace_nb/display/payload.py) decoded into trees (pure; no DOM).

/** Decode one trace entry of the payload: children lists, depth-first order, subtree sums. */
export function decodeTrace(raw, index) {
  const c = raw.cols || { name: [], type: [], status: [], parent: [], start: [], dur: [] };
  const n = c.name.length;
  const str = raw.strings || [];
  const parent = Int32Array.from(c.parent);
  const children = new Array(n).fill(null);
  const roots = [];
  for (let i = 0; i < n; i++) {
    const p = parent[i];
    if (p >= 0 && p < n && p !== i) (children[p] || (children[p] = [])).push(i);
    else roots.push(i);
  }
  // depth and DFS order (iterative: traces can be 10,000 levels deep)
  const depth = new Int32Array(n);
  const order = [];
  const stack = roots.slice().reverse();
  const seen = new Uint8Array(n);
  while (stack.length) {
    const i = stack.pop();
    if (seen[i]) continue;
    seen[i] = 1;
    order.push(i);
    const kids = children[i];
    if (kids) {
      for (let k = kids.length - 1; k >= 0; k--) {
        depth[kids[k]] = depth[i] + 1;
        stack.push(kids[k]);
      }
    }
  }
  for (let i = 0; i < n; i++) if (!seen[i]) { roots.push(i); order.push(i); } // cycles
  const own = new Map();
  for (const key of Object.keys(raw.tokens || {})) own.set(Number(key), raw.tokens[key]);
  const sub = new Float64Array(n * 3);
  const subErr = new Uint8Array(n);
  let errors = 0, running = 0;
  for (let k = order.length - 1; k >= 0; k--) {
    const i = order[k];
    const t = own.get(i);
    if (t) { sub[i * 3] += t[0]; sub[i * 3 + 1] += t[1]; sub[i * 3 + 2] += t[2]; }
    const st = str[c.status[i]];
    if (st === "ERROR") { subErr[i] = 1; errors++; }
    if (st === "RUNNING") running++;
    const p = parent[i];
    if (p >= 0 && p < n && p !== i && seen[p]) {
      sub[p * 3] += sub[i * 3]; sub[p * 3 + 1] += sub[i * 3 + 1]; sub[p * 3 + 2] += sub[i * 3 + 2];
      if (subErr[i]) subErr[p] = 1;
    }
  }
  let tin = 0, tout = 0, ttot = 0;
  for (const t of own.values()) { tin += t[0]; tout += t[1]; ttot += t[2]; }
  const lower = str.map((s) => String(s).toLowerCase());
  const details = new Map();
  for (const key of Object.keys(raw.details || {})) details.set(Number(key), raw.details[key]);
  const models = new Map();
  for (const key of Object.keys(raw.models || {})) models.set(Number(key), String(str[raw.models[key]] ?? raw.models[key]));
  return {
    index, id: String(raw.id ?? index), name: String(raw.name ?? "?"), status: String(raw.status || "UNSET"),
    live: !!raw.running, total: Math.max(Number(raw.total_us) || 0, 1), startNs: raw.start_ns || 0,
    count: raw.count ?? n, n, str, lower, cols: c, parent, children, roots, depth, order, own, sub, subErr,
    errors, running, tokens: [tin, tout, ttot], details, models,
    previewIn: raw.preview_in ?? null, previewOut: raw.preview_out ?? null,
    tags: raw.tags || null, metadata: raw.metadata || null, cost: raw.cost ?? null,
  };
}

/** Decode a payload given as JSON text or as an already-parsed object. */
export function decodePayload(input) {
  let raw = input;
  if (typeof input === "string") {
    try { raw = JSON.parse(input || "{}"); } catch (e) { raw = {}; }
  }
  if (!raw || typeof raw !== "object") raw = {};
  const traces = (Array.isArray(raw.traces) ? raw.traces : []).map(decodeTrace);
  return { traces, more: Number(raw.more) || 0, saved: !!raw.saved };
}

/** Name, type and status strings of span `s`. */
export function spanInfo(tr, s) {
  const c = tr.cols;
  return { name: String(tr.str[c.name[s]]), type: String(tr.str[c.type[s]]), status: String(tr.str[c.status[s]]) };
}

/** The longest trace duration (us) of a payload: the scale of the trace list's bars. */
export function longestTrace(traces) {
  let m = 1;
  for (const tr of traces) m = Math.max(m, tr.total);
  return m;
}
