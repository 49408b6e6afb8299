// Search over the spans the view holds (pure): names, types, statuses, model names and the
// details saved in the payload; the kernel adds content hits when it is there.

/** Lower-cased searchable text of a saved detail (computed once per detail). */
export function detailText(detail) {
  if (!detail) return "";
  if (detail.__text === undefined) {
    let text;
    try { text = JSON.stringify(detail); } catch (e) { text = ""; }
    Object.defineProperty(detail, "__text", { value: text.toLowerCase(), enumerable: false });
  }
  return detail.__text;
}

/**
 * Search `traces` for `query`. `remote`: optional {traceIndex: [span indices]} from the kernel.
 * Returns {q, matches: [Set], keep: [Set], hits: [{t, s}] in tree order, count}.
 */
export function searchTraces(traces, query, remote = null) {
  const q = String(query || "").trim().toLowerCase();
  if (!q) return null;
  const matches = [], keep = [], hits = [];
  let count = 0;
  for (const tr of traces) {
    const m = new Set();
    const c = tr.cols;
    for (let i = 0; i < tr.n; i++) {
      if (tr.lower[c.name[i]].includes(q) || tr.lower[c.type[i]].includes(q) || tr.lower[c.status[i]].includes(q)) m.add(i);
    }
    for (const [i, model] of tr.models) if (String(model).toLowerCase().includes(q)) m.add(i);
    for (const [i, d] of tr.details) if (detailText(d).includes(q)) m.add(i);
    const r = remote ? remote[String(tr.index)] : null;
    if (Array.isArray(r)) for (const i of r) if (i >= 0 && i < tr.n) m.add(i);
    const k = new Set();
    for (const i of m) {
      let j = i;
      while (j >= 0 && j < tr.n && !k.has(j)) { k.add(j); j = tr.parent[j]; }
    }
    for (const i of tr.order) if (m.has(i)) hits.push({ t: tr.index, s: i });
    count += m.size;
    matches.push(m);
    keep.push(k);
  }
  return { q, matches, keep, hits, count };
}

/** The next (step = 1) or previous (step = -1) hit index, wrapping around. */
export function stepHit(current, count, step) {
  if (!count) return -1;
  if (current < 0) return step > 0 ? 0 : count - 1;
  return (((current + step) % count) + count) % count;
}

/** Split `text` into [{text, hit}] segments around case-insensitive occurrences of `q`. */
export function highlightSegments(text, q) {
  const s = String(text);
  const needle = String(q || "").toLowerCase();
  if (!needle) return [{ text: s, hit: false }];
  const lower = s.toLowerCase();
  const out = [];
  let at = 0;
  for (let guard = 0; guard < 1000; guard++) {
    const i = lower.indexOf(needle, at);
    if (i < 0) break;
    if (i > at) out.push({ text: s.slice(at, i), hit: false });
    out.push({ text: s.slice(i, i + needle.length), hit: true });
    at = i + needle.length;
  }
  if (at < s.length) out.push({ text: s.slice(at), hit: false });
  return out.length ? out : [{ text: s, hit: false }];
}
