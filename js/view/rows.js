// Which rows the tree shows, from the expansion state and the search filter (pure).

export const BIG_TRACE = 300; // traces with more spans open to depth 2 only

/** Tree expansion state, keyed by trace id so it survives re-renders and live updates. */
export class TreeState {
  constructor() {
    this.collapsed = new Set();
    this.expanded = new Set();
    this.depthLimit = null; // null: automatic; a number: "expand to depth N" for every trace
  }

  key(tr, s) { return tr.id + ":" + s; }

  /** Is span `s` (or the trace header when s < 0) of `tr` open? */
  isOpen(tr, s, traceCount, totalSpans) {
    const key = this.key(tr, s);
    if (this.collapsed.has(key)) return false;
    if (this.expanded.has(key)) return true;
    if (s < 0) {
      if (this.depthLimit !== null) return this.depthLimit > 0;
      return traceCount <= 3 || tr.index === 0;
    }
    const limit = this.depthLimit !== null ? this.depthLimit
      : (totalSpans > BIG_TRACE || tr.n > BIG_TRACE ? 2 : Infinity);
    return tr.depth[s] + 1 < limit;
  }

  toggle(tr, s, traceCount, totalSpans) {
    const key = this.key(tr, s);
    if (this.isOpen(tr, s, traceCount, totalSpans)) { this.expanded.delete(key); this.collapsed.add(key); }
    else { this.collapsed.delete(key); this.expanded.add(key); }
  }

  /** Every trace and span open (depth = Infinity) or closed to trace headers / roots. */
  setAll(depthLimit) {
    this.depthLimit = depthLimit;
    this.collapsed.clear();
    this.expanded.clear();
  }
}

/**
 * The visible rows: [{t, s, d}] with s = -1 for a trace header row (several traces only).
 * `keep` (search): per trace index a Set of span indices to show (matches and their
 * ancestors), or null for no filter; traces without any kept span are left out.
 */
export function buildRows(traces, state, keep = null) {
  const rows = [];
  const multi = traces.length > 1;
  let total = 0;
  for (const tr of traces) total += tr.n;
  for (const tr of traces) {
    const k = keep ? keep[tr.index] : null;
    if (keep && (!k || !k.size)) continue;
    const base = multi ? 1 : 0;
    if (multi) {
      rows.push({ t: tr.index, s: -1, d: 0 });
      if (!k && !state.isOpen(tr, -1, traces.length, total)) continue;
    }
    const stack = tr.roots.slice().reverse();
    while (stack.length) {
      const i = stack.pop();
      if (k && !k.has(i)) continue;
      rows.push({ t: tr.index, s: i, d: tr.depth[i] + base });
      const kids = tr.children[i];
      if (kids && (k || state.isOpen(tr, i, traces.length, total))) {
        for (let j = kids.length - 1; j >= 0; j--) stack.push(kids[j]);
      }
    }
  }
  return rows;
}

/** The row index of span (t, s), or -1. */
export function rowIndex(rows, t, s) {
  for (let i = 0; i < rows.length; i++) if (rows[i].t === t && rows[i].s === s) return i;
  return -1;
}

/** Make span `s` of `tr` visible: open each of its ancestors (and the trace header). */
export function reveal(tr, s, state) {
  let p = tr.parent[s];
  let guard = 0;
  while (p >= 0 && p < tr.n && guard++ < tr.n) {
    const key = state.key(tr, p);
    state.collapsed.delete(key);
    state.expanded.add(key);
    p = tr.parent[p];
  }
  state.collapsed.delete(state.key(tr, -1));
  state.expanded.add(state.key(tr, -1));
}
