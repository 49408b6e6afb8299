// "Compare with the previous run": the kernel aligns this trace with the earlier run of its
// cell (`compare_traces`), and this module draws the result: totals, then one row per span
// path with status, latency, tokens and cost of both runs and their deltas, and the input /
// output diffs on demand. Every string is written with textContent (dom.js).

import { h } from "./dom.js";
import { fmtInt } from "./format.js";

const MAX_ROWS = 300; // span paths drawn (the rest are counted)

/** "+12 ms", "−3", "±0"; "?" when unknown. Pure: unit-tested. */
export function signed(value, unit = "", digits = 1) {
  if (value === null || value === undefined || Number.isNaN(Number(value))) return "?";
  const v = Number(value);
  if (v === 0) return "±0" + unit;
  const abs = Math.abs(v);
  const text = Number.isInteger(abs) ? fmtInt(abs) : abs < 0.01 ? abs.toPrecision(2) : abs.toFixed(digits);
  return (v > 0 ? "+" : "−") + text + unit;
}

/** The rows worth a look first: changed paths, then the rest, in tree order. Pure. */
export function compareRows(result) {
  const spans = Array.isArray(result && result.spans) ? result.spans : [];
  const rows = spans.map((s) => ({
    path: String(s.path ?? ""),
    depth: Number(s.depth) || 0,
    name: String(s.name ?? ""),
    onlyIn: s.only_in === "a" || s.only_in === "b" ? s.only_in : null,
    statusA: s.status_a ?? null,
    statusB: s.status_b ?? null,
    latency: [s.latency_a_ms ?? null, s.latency_b_ms ?? null, s.latency_delta_ms ?? null],
    tokens: [s.tokens_a ?? null, s.tokens_b ?? null, s.tokens_delta ?? null],
    cost: [s.cost_a ?? null, s.cost_b ?? null, s.cost_delta ?? null],
    inputsDiff: typeof s.inputs_diff === "string" ? s.inputs_diff : null,
    outputsDiff: typeof s.outputs_diff === "string" ? s.outputs_diff : null,
    changed: !!(s.only_in || s.status_a !== s.status_b || s.inputs_changed || s.outputs_changed),
  }));
  return { rows: rows.slice(0, MAX_ROWS), hidden: Math.max(0, rows.length - MAX_ROWS), changed: rows.filter((r) => r.changed).length };
}

function diffBlock(title, text) {
  const box = h("div", "tv-cmp-diff");
  const btn = h("button", "tv-link", "Show " + title + " diff");
  btn.type = "button";
  const pre = h("pre", "tv-pre tv-cmp-pre", text);
  pre.hidden = true;
  btn.addEventListener("click", () => {
    pre.hidden = !pre.hidden;
    btn.textContent = (pre.hidden ? "Show " : "Hide ") + title + " diff";
  });
  box.append(btn, pre);
  return box;
}

/** Draw `result` (TraceComparison.to_dict()) into `box`. */
export function drawComparison(box, result) {
  box.replaceChildren();
  const t = (result && result.totals) || {};
  const { rows, hidden, changed } = compareRows(result);
  const head = h("div", "tv-cmp-head");
  head.append(
    h("span", "tv-stat", "vs previous run"),
    h("span", "tv-stat", "latency " + signed(t.latency_delta_ms, " ms")),
    h("span", "tv-stat", "tokens " + signed(t.tokens_delta, "", 0)),
    h("span", "tv-stat", "cost " + (t.cost_delta === null || t.cost_delta === undefined ? "unknown" : signed(t.cost_delta, " USD", 4))),
    h("span", "tv-stat" + (changed ? " tv-stat-err" : ""), fmtInt(changed) + " of " + fmtInt(rows.length + hidden) + " span paths changed"),
  );
  box.append(head);
  const table = h("div", "tv-cmp-table");
  table.setAttribute("role", "table");
  const header = h("div", "tv-cmp-row tv-cmp-header");
  for (const c of ["span", "status", "latency (ms)", "Δ", "tokens Δ", "changed"]) header.append(h("span", null, c));
  table.append(header);
  for (const r of rows) {
    const row = h("div", "tv-cmp-row" + (r.changed ? " tv-cmp-changed" : ""));
    row.setAttribute("role", "row");
    const name = h("span", "tv-cmp-name", r.name);
    name.style.paddingLeft = Math.min(r.depth, 20) * 10 + "px";
    name.title = r.path;
    const status = r.onlyIn ? (r.onlyIn === "a" ? "removed" : "added") : r.statusA === r.statusB ? String(r.statusB) : r.statusA + " → " + r.statusB;
    const lat = r.latency[0] === null || r.latency[1] === null ? "" : Number(r.latency[0]).toFixed(1) + " → " + Number(r.latency[1]).toFixed(1);
    const what = [];
    if (r.inputsDiff !== null) what.push("inputs");
    if (r.outputsDiff !== null) what.push("outputs");
    row.append(name, h("span", null, status), h("span", null, lat), h("span", null, signed(r.latency[2], "")), h("span", null, signed(r.tokens[2], "", 0)), h("span", null, what.join(", ")));
    table.append(row);
    if (r.inputsDiff !== null || r.outputsDiff !== null) {
      const diffs = h("div", "tv-cmp-diffs");
      if (r.inputsDiff !== null) diffs.append(diffBlock("inputs", r.inputsDiff));
      if (r.outputsDiff !== null) diffs.append(diffBlock("outputs", r.outputsDiff));
      table.append(diffs);
    }
  }
  box.append(table);
  if (hidden) box.append(h("div", "tv-muted", "… and " + fmtInt(hidden) + " more span paths (mlflow.compare_traces(trace).df has them all)"));
}

/** A "Compare with previous run" button that asks the kernel and draws the answer below. */
export function compareSection(tr, request) {
  const box = h("div", "tv-cmp");
  const btn = h("button", "tv-link tv-cmp-btn", "Compare with the previous run of this cell");
  btn.type = "button";
  const out = h("div", "tv-cmp-out");
  btn.addEventListener("click", () => {
    btn.disabled = true;
    out.replaceChildren(h("span", "tv-muted", "Comparing…"));
    request({ kind: "compare", id: tr.id }, (msg) => {
      btn.disabled = false;
      if (msg && msg.result) drawComparison(out, msg.result);
      else out.replaceChildren(h("span", "tv-muted", String((msg && msg.reason) || "No comparison.")));
    }, () => { btn.disabled = false; out.replaceChildren(h("span", "tv-muted", "The kernel did not answer.")); });
  });
  box.append(btn, out);
  return box;
}
