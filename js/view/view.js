// The trace view: toolbar (summary, search), span tree (virtual list) with a timeline, and a
// detail pane beside it (or below it in narrow outputs). Shared by the anywidget front end
// (js/widget.js) and the JupyterLab / Notebook 7 renderer of saved outputs (js/lab/).
//
// Security: every string that comes from a span is untrusted (LLM output, user input). It is
// only ever written with textContent / createTextNode (see dom.js).

import { ticks } from "./axis.js";
import { spanDetail, traceDetail } from "./detail.js";
import { drawSummary as drawSummaryInto } from "./summary.js";
import { h } from "./dom.js";
import { fmtDur, fmtInt } from "./format.js";
import { decodePayload, longestTrace } from "./model.js";
import { buildRows, reveal, rowIndex, TreeState } from "./rows.js";
import { searchTraces, stepHit } from "./search.js";
import { renderRow, ROW_H } from "./tree.js";

const OVERSCAN = 10;
const MAX_TREE_H = 468;
const NARROW_PX = 700;
const TICK_MS = 1000;
const LIVE_WINDOW_NS = 600e9; // a "running" trace older than this is a saved snapshot

/**
 * Draw the view into `el`. `host.request(msg, onReply, onFail)` reaches the kernel (null: saved
 * data only). Returns {update(payload), destroy()}; update keeps expansion, selection, search.
 */
export function createView(el, host = {}) {
  const request = host.request || null;
  const root = h("div", "tv-root");
  root.setAttribute("data-testid", "trace-view");
  el.append(root);
  let data = { traces: [], more: 0 };
  let received = performance.now();
  const state = new TreeState();
  let sel = null; // {id, s}: trace id + span index (-1: the trace itself)
  let search = null;
  let hit = -1;
  let remote = null;
  let rows = [];
  const detailCache = new Map();

  // ----- layout
  const bar = h("div", "tv-toolbar");
  const summary = h("div", "tv-summary");
  const controls = h("div", "tv-controls");
  const searchBox = h("input", "tv-search");
  searchBox.type = "search";
  searchBox.placeholder = "Search spans…";
  searchBox.title = "Search names, types, models" + (request ? " and content" : " and saved details") + " (Enter: next, Shift+Enter: previous)";
  searchBox.setAttribute("aria-label", "Search spans");
  const btnPrev = h("button", "tv-btn tv-btn-icon", "↑");
  btnPrev.title = "Previous match (Shift+Enter)";
  btnPrev.setAttribute("aria-label", "Previous match");
  const btnNext = h("button", "tv-btn tv-btn-icon", "↓");
  btnNext.title = "Next match (Enter)";
  btnNext.setAttribute("aria-label", "Next match");
  const matchInfo = h("span", "tv-matchinfo");
  matchInfo.setAttribute("aria-live", "polite");
  const btnExpand = h("button", "tv-btn", "Expand all");
  const btnCollapse = h("button", "tv-btn", "Collapse all");
  for (const b of [btnPrev, btnNext, btnExpand, btnCollapse]) b.type = "button";
  controls.append(searchBox, btnPrev, btnNext, matchInfo, btnExpand, btnCollapse);
  bar.append(summary, controls);

  const body = h("div", "tv-body");
  const treePane = h("div", "tv-tree");
  const header = h("div", "tv-row tv-colhead");
  const axis = h("div", "tv-c-wf tv-axis");
  header.append(h("div", "tv-c-name", "Span"), h("div", "tv-c-tok", "Tokens"), h("div", "tv-c-dur", "Duration"), axis);
  const scroller = h("div", "tv-scroll");
  scroller.tabIndex = 0;
  scroller.setAttribute("role", "tree");
  scroller.setAttribute("aria-label", "Spans");
  const sizer = h("div", "tv-sizer");
  scroller.append(sizer);
  treePane.append(header, scroller);
  const divider = h("div", "tv-divider");
  divider.setAttribute("role", "separator");
  divider.setAttribute("aria-orientation", "vertical");
  divider.title = "Drag to resize";
  const detail = h("div", "tv-detail");
  detail.tabIndex = -1;
  body.append(treePane, divider, detail);
  const footer = h("div", "tv-footer");
  root.append(bar, body, footer);

  // ----- geometry: side by side (draggable divider) or stacked below NARROW_PX
  let split = 0.56;
  let width = 0; // the view's width, from the ResizeObserver (no forced layout while drawing)
  const applyWidth = (w) => {
    const changed = Math.abs(w - width) > 20;
    width = w;
    if (changed) queueDraw();
    root.classList.toggle("tv-narrow", width > 0 && width < NARROW_PX);
    root.style.setProperty("--tv-split", (split * 100).toFixed(1) + "%");
  };
  let ro = null;
  if (typeof ResizeObserver !== "undefined") {
    ro = new ResizeObserver((entries) => { for (const e of entries) applyWidth(e.contentRect.width); });
    ro.observe(root);
  }
  divider.addEventListener("pointerdown", (ev) => {
    ev.preventDefault();
    divider.setPointerCapture(ev.pointerId);
    const rect = body.getBoundingClientRect();
    const move = (e) => {
      split = Math.min(0.8, Math.max(0.25, (e.clientX - rect.left) / Math.max(1, rect.width)));
      applyWidth(width);
    };
    const up = () => { divider.removeEventListener("pointermove", move); divider.removeEventListener("pointerup", up); };
    divider.addEventListener("pointermove", move);
    divider.addEventListener("pointerup", up);
  });

  // ----- time
  const liveTrace = (tr) => tr.live && (Date.now() * 1e6 - (tr.startNs + tr.total * 1000) < LIVE_WINDOW_NS || !!request);
  const nowUs = (tr) => (liveTrace(tr) ? tr.total + (performance.now() - received) * 1000 : tr.total);
  const scale = () => {
    if (data.traces.length > 1) return Math.max(1, ...data.traces.map((t) => nowUs(t)), longestTrace(data.traces));
    return data.traces.length ? Math.max(1, nowUs(data.traces[0])) : 1;
  };
  const drawAxis = () => {
    const inner = h("div", "tv-axis-in");
    axis.replaceChildren(inner);
    const total = scale();
    const axisPx = width ? width * (width < NARROW_PX ? 0.22 : split * 0.28) : 280;
    const target = Math.max(2, Math.min(6, Math.floor(axisPx / 75)));
    for (const t of ticks(total, target)) {
      const tick = h("span", "tv-tick", fmtDur(t.us));
      tick.style.left = t.pct + "%";
      if (t.pct > 85) tick.classList.add("tv-tick-end");
      inner.append(tick);
    }
    axis.title = "Timeline: 0 to " + fmtDur(total) + (data.traces.length > 1 ? " (bars relative to the longest trace)" : "");
  };

  // ----- rows
  const totalSpans = () => data.traces.reduce((a, t) => a + t.n, 0);
  const selIndex = () => {
    if (!sel) return null;
    const tr = data.traces.find((t) => t.id === sel.id);
    return tr ? { t: tr.index, s: sel.s } : null;
  };
  const rowView = () => ({
    traces: data.traces, state, search, sel: selIndex(), scale: scale(), now: nowUs,
    multi: data.traces.length > 1, totalSpans: totalSpans(),
  });
  let drawQueued = false;
  const draw = () => {
    drawQueued = false;
    const scrollTop = scroller.scrollTop; // read before the writes below (no forced layout)
    const height = Math.min(MAX_TREE_H, Math.max(rows.length, 1) * ROW_H + 2);
    scroller.style.height = height + "px";
    sizer.style.height = rows.length * ROW_H + "px";
    const first = Math.max(0, Math.floor(scrollTop / ROW_H) - OVERSCAN);
    const last = Math.min(rows.length, Math.ceil((scrollTop + height) / ROW_H) + OVERSCAN);
    const v = rowView();
    const frag = document.createDocumentFragment();
    for (let i = first; i < last; i++) frag.append(renderRow(rows[i], i * ROW_H, v));
    sizer.replaceChildren(frag);
    if (!rows.length) sizer.append(h("div", "tv-empty", search ? "No span matches “" + search.q + "”." : "No spans."));
    drawAxis();
  };
  const queueDraw = () => { if (!drawQueued) { drawQueued = true; requestAnimationFrame(draw); } };
  const rebuild = () => { rows = buildRows(data.traces, state, search ? search.keep : null); draw(); };
  const scrollToRow = (i) => {
    if (i < 0) return;
    const top = i * ROW_H;
    if (top < scroller.scrollTop) scroller.scrollTop = top;
    else if (top + ROW_H > scroller.scrollTop + scroller.clientHeight) scroller.scrollTop = top + ROW_H - scroller.clientHeight;
  };

  // ----- summary
  const drawSummary = () => drawSummaryInto(summary, footer, data, nowUs, request);

  // ----- detail
  let detailKey = null;
  const showDetail = (force) => {
    const si = selIndex();
    if (!si) {
      detail.replaceChildren(h("div", "tv-muted tv-pad", "Select a span to see its details."));
      detailKey = null;
      return;
    }
    const tr = data.traces[si.t];
    const s = si.s;
    if (s < 0 || s >= tr.n) {
      const key = "trace:" + tr.id + ":" + tr.status + ":" + tr.live;
      if (!force && key === detailKey) return;
      detailKey = key;
      traceDetail(detail, tr, nowUs(tr), request);
      return;
    }
    const status = tr.str[tr.cols.status[s]];
    const inline = tr.details.get(s);
    const sig = status === "RUNNING" && inline ? JSON.stringify(inline).length : 0;
    const key = tr.id + ":" + s + ":" + status + ":" + sig;
    if (!force && key === detailKey) return;
    const sameSpan = detailKey && detailKey.startsWith(tr.id + ":" + s + ":");
    const keepScroll = sameSpan ? detail.scrollTop : 0;
    detailKey = key;
    const cacheKey = tr.id + ":" + s;
    const d = (status !== "RUNNING" && detailCache.get(cacheKey)) || inline;
    const ctx = { tr, t: si.t, s, request, nowUs: nowUs(tr) };
    if (d) { spanDetail(detail, ctx, d); detail.scrollTop = keepScroll; return; }
    if (!request) {
      detail.replaceChildren(h("div", "tv-muted tv-pad", "This span's details were not saved in the notebook (only the first spans' are). Run the cell again, or read the trace with mlflow.get_trace(\"" + tr.id + "\")."));
      return;
    }
    detail.replaceChildren(h("div", "tv-muted tv-pad", tr.live ? "Loading details… (the kernel answers once the cell has finished)" : "Loading details…"));
    request({ kind: "detail", t: si.t, s }, (msg) => {
      if (msg.kind !== "detail") return;
      if (status !== "RUNNING") detailCache.set(cacheKey, msg.detail);
      const now = selIndex();
      if (now && now.t === msg.t && now.s === msg.s && detailKey === key) spanDetail(detail, { tr, t: msg.t, s: msg.s, request, nowUs: nowUs(tr) }, msg.detail);
    }, () => {
      if (detailKey === key) detail.replaceChildren(h("div", "tv-muted tv-pad", "Details are not available: the kernel is not connected."));
    });
  };
  const select = (t, s, { scroll = true } = {}) => {
    const tr = data.traces[t];
    if (!tr) return;
    sel = { id: tr.id, s };
    draw();
    showDetail(false);
    detail.scrollTop = 0;
    if (scroll && root.classList.contains("tv-narrow")) {
      const r = detail.getBoundingClientRect();
      if (r.top > window.innerHeight || r.bottom < 0 || r.top < 0) detail.scrollIntoView({ block: "nearest" });
    }
  };
  const toggle = (t, s) => { state.toggle(data.traces[t], s, data.traces.length, totalSpans()); rebuild(); };

  // ----- search
  let searchTimer = null;
  const applySearch = ({ jump = false } = {}) => {
    const q = searchBox.value.trim();
    search = searchTraces(data.traces, q, remote && remote.q === q ? remote.hits : null);
    if (!search) { matchInfo.textContent = ""; hit = -1; rebuild(); return; }
    rebuild();
    if (jump) { hit = search.hits.length ? 0 : -1; scroller.scrollTop = 0; }
    else if (hit >= search.hits.length) hit = search.hits.length - 1;
    updateMatchInfo();
    if (jump && hit >= 0) goToHit();
  };
  const updateMatchInfo = () => {
    if (!search) { matchInfo.textContent = ""; return; }
    const n = search.hits.length;
    matchInfo.textContent = n ? (hit >= 0 ? fmtInt(hit + 1) + " of " : "") + fmtInt(n) + (n === 1 ? " match" : " matches") : "no matches";
    matchInfo.classList.toggle("tv-nomatch", !n);
  };
  const goToHit = () => {
    if (!search || hit < 0) return;
    const { t, s } = search.hits[hit];
    select(t, s, { scroll: false });
    scrollToRow(rowIndex(rows, t, s));
    draw();
    updateMatchInfo();
  };
  const step = (d) => {
    if (!search) return;
    hit = stepHit(hit, search.hits.length, d);
    goToHit();
  };
  searchBox.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      applySearch({ jump: true });
      const q = searchBox.value.trim();
      if (q && request) {
        request({ kind: "search", q }, (msg) => {
          if (msg.kind !== "search") return;
          remote = msg;
          if (msg.q === searchBox.value.trim()) applySearch();
        });
      }
    }, 150);
  });
  searchBox.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter") { ev.preventDefault(); step(ev.shiftKey ? -1 : 1); }
    else if (ev.key === "Escape") { searchBox.value = ""; applySearch(); }
  });
  btnNext.addEventListener("click", () => step(1));
  btnPrev.addEventListener("click", () => step(-1));

  // ----- controls
  btnExpand.addEventListener("click", () => { state.setAll(Infinity); rebuild(); });
  btnCollapse.addEventListener("click", () => { state.setAll(data.traces.length > 1 ? 0 : 1); scroller.scrollTop = 0; rebuild(); });
  scroller.addEventListener("scroll", queueDraw);
  sizer.addEventListener("click", (ev) => {
    const rowEl = ev.target.closest(".tv-row");
    if (!rowEl) return;
    const t = Number(rowEl.dataset.t), s = Number(rowEl.dataset.s);
    if (ev.target.classList.contains("tv-tog")) { toggle(t, s); return; }
    if (s < 0 && sel && sel.s < 0 && data.traces[t] && sel.id === data.traces[t].id) { toggle(t, s); return; }
    select(t, s);
  });
  sizer.addEventListener("dblclick", (ev) => {
    const rowEl = ev.target.closest(".tv-row");
    if (rowEl) toggle(Number(rowEl.dataset.t), Number(rowEl.dataset.s));
  });
  scroller.addEventListener("keydown", (ev) => {
    if (!rows.length) return;
    const si = selIndex();
    let i = si ? rowIndex(rows, si.t, si.s) : -1;
    if (ev.key === "ArrowDown") i = Math.min(rows.length - 1, i + 1);
    else if (ev.key === "ArrowUp") i = Math.max(0, i - 1);
    else if ((ev.key === "ArrowRight" || ev.key === "ArrowLeft") && i >= 0) {
      const r = rows[i];
      const tr = data.traces[r.t];
      const open = state.isOpen(tr, r.s, data.traces.length, totalSpans());
      if ((ev.key === "ArrowRight") !== open && (r.s < 0 || tr.children[r.s])) toggle(r.t, r.s);
      ev.preventDefault();
      return;
    } else return;
    ev.preventDefault();
    select(rows[i].t, rows[i].s, { scroll: false });
    scrollToRow(i);
  });

  // ----- live: running durations tick between payload updates
  let timer = null;
  const tick = () => {
    if (!data.traces.some(liveTrace)) { clearInterval(timer); timer = null; return; }
    draw();
    drawSummary();
    const si = selIndex();
    const tr = si && data.traces[si.t];
    if (tr && liveTrace(tr)) {
      const running = detail.querySelector(".tv-meta[data-running] .tv-meta-v");
      if (running) {
        const s = si.s;
        const us = s < 0 ? nowUs(tr) : nowUs(tr) - tr.cols.start[s];
        running.firstChild.textContent = fmtDur(us);
      }
    }
  };

  const update = (payload) => {
    data = decodePayload(payload);
    received = performance.now();
    if (sel && !data.traces.some((t) => t.id === sel.id)) sel = null;
    if (!sel && data.traces.length) {
      const first = data.traces[0];
      sel = { id: first.id, s: data.traces.length > 1 ? -1 : (first.roots.length ? first.roots[0] : -1) };
    }
    root.classList.toggle("tv-live", data.traces.some((t) => t.live));
    drawSummary();
    if (searchBox.value.trim()) applySearch(); else { search = null; rebuild(); }
    showDetail(false);
    if (data.traces.some(liveTrace) && !timer) timer = setInterval(tick, TICK_MS);
  };

  const destroy = () => {
    clearInterval(timer);
    clearTimeout(searchTimer);
    if (ro) ro.disconnect();
    root.remove();
  };
  return { update, destroy, root, reveal: (t, s) => { reveal(data.traces[t], s, state); rebuild(); } };
}
