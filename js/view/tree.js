// One row of the span tree (virtual list rows are rebuilt as they scroll into view).

import { h, highlighted } from "./dom.js";
import { fmtDur, fmtInt, fmtTime, fmtTok, typeInfo } from "./format.js";
import { barGeometry } from "./axis.js";
import { highlightSegments } from "./search.js";
import { statusPill } from "./detail.js";

export const ROW_H = 26;

function nameEl(text, query, cls = "tv-name") {
  const el = h("span", cls);
  el.title = text;
  if (query) el.append(highlighted(highlightSegments(text, query)));
  else el.textContent = text;
  return el;
}

function previewText(tr) {
  const parts = [];
  if (tr.previewIn) parts.push(tr.previewIn);
  if (tr.previewOut) parts.push("→ " + tr.previewOut);
  return parts.join("  ").replace(/\s+/g, " ");
}

/**
 * Build the element of `row` ({t, s, d}) at `top` px. `v`: {traces, state, search, sel,
 * scale (us of the timeline width), multi, now(tr) (us since trace start), totalSpans}.
 */
export function renderRow(row, top, v) {
  const tr = v.traces[row.t];
  const el = h("div", "tv-row");
  el.style.top = top + "px";
  el.dataset.t = row.t;
  el.dataset.s = row.s;
  el.setAttribute("role", "treeitem");
  const nameCell = h("div", "tv-c-name");
  nameCell.style.paddingLeft = 6 + Math.min(row.d, 40) * 14 + "px";
  const tokCell = h("div", "tv-c-tok");
  const durCell = h("div", "tv-c-dur");
  const wf = h("div", "tv-c-wf");
  const track = h("div", "tv-track");
  const bar = h("div", "tv-bar");
  track.append(bar);
  wf.append(track);
  const q = v.search ? v.search.q : "";
  const n = v.traces.length;
  if (row.s < 0) {
    el.classList.add("tv-tracerow");
    const open = v.search || v.state.isOpen(tr, -1, n, v.totalSpans);
    el.setAttribute("aria-expanded", String(!!open));
    nameCell.append(h("span", "tv-tog", open ? "▾" : "▸"), statusPill(tr.live ? "RUNNING" : tr.status), nameEl(tr.name, q));
    if (tr.errors) {
      const err = h("span", "tv-err-count", "✗ " + fmtInt(tr.errors));
      err.title = fmtInt(tr.errors) + (tr.errors === 1 ? " span failed" : " spans failed");
      nameCell.append(err);
    }
    const pv = previewText(tr);
    if (pv) { const p = h("span", "tv-preview", pv); p.title = pv; nameCell.append(p); }
    const time = h("span", "tv-time", fmtTime(tr.startNs, { date: false }));
    time.title = fmtTime(tr.startNs);
    nameCell.append(time);
    if (tr.tokens[2]) tokCell.textContent = fmtTok(tr.tokens[2]);
    const dur = tr.live ? v.now(tr) : tr.total;
    durCell.textContent = fmtDur(dur) + (tr.live ? "…" : "");
    const g = barGeometry(0, dur, v.scale);
    bar.style.left = g.left + "%";
    bar.style.width = g.width + "%";
    bar.classList.add(tr.status === "ERROR" ? "tv-bar-error" : "tv-bar-trace");
    if (tr.live) bar.classList.add("tv-bar-running");
    bar.title = tr.name + " · " + fmtDur(dur) + " · started " + fmtTime(tr.startNs);
    if (tr.status === "ERROR" || tr.errors) el.classList.add("tv-has-error");
  } else {
    const s = row.s;
    const c = tr.cols;
    const type = String(tr.str[c.type[s]]);
    const status = String(tr.str[c.status[s]]);
    const name = String(tr.str[c.name[s]]);
    const kids = tr.children[s];
    const open = !!kids && (!!v.search || v.state.isOpen(tr, s, n, v.totalSpans));
    if (kids) el.setAttribute("aria-expanded", String(open));
    const [label, family] = typeInfo(type);
    const chip = h("span", "tv-chip tv-f-" + family, label);
    chip.title = type;
    nameCell.append(h("span", "tv-tog", kids ? (open ? "▾" : "▸") : ""), chip, nameEl(name, q));
    const model = tr.models.get(s);
    if (model) { const m = nameEl(model, q, "tv-model"); nameCell.append(m); }
    if (status === "ERROR") { const e = h("span", "tv-err", "!"); e.title = "error"; nameCell.append(e); }
    else if (status === "RUNNING") nameCell.append(h("span", "tv-spin"));
    else if (kids && tr.subErr[s] && !open) { const e = h("span", "tv-err tv-err-sub", "!"); e.title = "an error below"; nameCell.append(e); }
    if (kids && !open) nameCell.append(h("span", "tv-count", String(kids.length)));
    const tok = tr.sub[s * 3 + 2];
    if (tok) tokCell.textContent = fmtTok(tok);
    const start = c.start[s];
    const dur = status === "RUNNING" || c.dur[s] < 0 ? v.now(tr) - start : c.dur[s];
    durCell.textContent = fmtDur(dur) + (status === "RUNNING" ? "…" : "");
    const g = barGeometry(start, dur, v.scale);
    bar.style.left = g.left + "%";
    bar.style.width = g.width + "%";
    bar.classList.add("tv-f-" + family);
    bar.title = name + " · starts +" + fmtDur(start) + " · lasts " + fmtDur(dur) + (status === "ERROR" ? " · ERROR" : "");
    if (status === "ERROR") { bar.classList.add("tv-bar-error"); el.classList.add("tv-error"); }
    if (status === "RUNNING") { bar.classList.add("tv-bar-running"); el.classList.add("tv-running"); }
    if (v.search && v.search.matches[row.t] && v.search.matches[row.t].has(s)) el.classList.add("tv-match");
    el.title = name + " (" + type + ", " + status + ")";
  }
  if (v.sel && v.sel.t === row.t && v.sel.s === row.s) { el.classList.add("tv-selected"); el.setAttribute("aria-selected", "true"); }
  el.append(nameCell, tokCell, durCell, wf);
  return el;
}
