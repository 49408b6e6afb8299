// mlflow-trace-nb span-tree view (anywidget front end).
//
// Security: every string that comes from a span is untrusted (LLM output, user input). It is
// only ever written with textContent / createTextNode; this file never uses innerHTML,
// insertAdjacentHTML, document.write, eval, or builds links from span data.
//
// Scale: the tree is a virtual list (only the rows in view exist in the DOM); the payload is a
// column table (see mlflow_trace_nb/display/payload.py); details are fetched on demand.

const ROW_H = 24;
const OVERSCAN = 10;
const MAX_TREE_H = 460;
const BIG_TRACE = 300; // traces with more spans open to depth 2 only
const JSON_OPEN_DEPTH = 3;
const JSON_CHUNK = 200;
const LONG_STRING = 600;

const TYPES = {
  CHAIN: ["CHAIN", "chain"], AGENT: ["AGENT", "agent"], LLM: ["LLM", "llm"],
  CHAT_MODEL: ["CHAT", "llm"], TOOL: ["TOOL", "tool"], RETRIEVER: ["RETR", "retriever"],
  EMBEDDING: ["EMBED", "embedding"], RERANKER: ["RERANK", "retriever"], PARSER: ["PARSE", "other"],
  MEMORY: ["MEM", "other"], UNKNOWN: ["SPAN", "other"],
};

function h(tag, cls, text) {
  const el = document.createElement(tag);
  if (cls) el.className = cls;
  if (text !== undefined && text !== null) el.textContent = String(text);
  return el;
}

function typeInfo(type) {
  return TYPES[type] || [String(type || "SPAN").slice(0, 6).toUpperCase(), "other"];
}

function fmtDur(us) {
  if (us === null || us === undefined || us < 0) return "…";
  if (us < 1000) return (us / 1000).toFixed(2) + " ms";
  if (us < 1e6) return (us < 1e5 ? (us / 1000).toFixed(1) : Math.round(us / 1000)) + " ms";
  const s = us / 1e6;
  if (s < 60) return s.toFixed(s < 10 ? 2 : 1) + " s";
  return Math.floor(s / 60) + "m " + Math.round(s % 60) + "s";
}

function fmtInt(n) {
  return Number(n).toLocaleString("en-US");
}

function fmtTok(n) {
  if (n < 1000) return String(n);
  if (n < 1e6) return (n / 1000).toFixed(n < 1e4 ? 1 : 0) + "k";
  return (n / 1e6).toFixed(1) + "M";
}

// ---------------------------------------------------------------------------------------
// Payload decoding

function decodeTrace(raw, index) {
  const c = raw.cols;
  const n = c.name.length;
  const str = raw.strings;
  const parent = Int32Array.from(c.parent);
  const children = new Array(n);
  const roots = [];
  for (let i = 0; i < n; i++) children[i] = null;
  for (let i = 0; i < n; i++) {
    const p = parent[i];
    if (p >= 0 && p < n && p !== i) {
      (children[p] || (children[p] = [])).push(i);
    } else {
      roots.push(i);
    }
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
  const statusOf = (i) => str[c.status[i]];
  for (let k = order.length - 1; k >= 0; k--) {
    const i = order[k];
    const t = own.get(i);
    if (t) { sub[i * 3] += t[0]; sub[i * 3 + 1] += t[1]; sub[i * 3 + 2] += t[2]; }
    const st = statusOf(i);
    if (st === "ERROR") subErr[i] = 1;
    const p = parent[i];
    if (p >= 0 && p < n && p !== i && seen[p]) {
      sub[p * 3] += sub[i * 3]; sub[p * 3 + 1] += sub[i * 3 + 1]; sub[p * 3 + 2] += sub[i * 3 + 2];
      if (subErr[i]) subErr[p] = 1;
    }
  }
  let errors = 0, tin = 0, tout = 0, ttot = 0, running = 0;
  for (let i = 0; i < n; i++) {
    const st = statusOf(i);
    if (st === "ERROR") errors++;
    if (st === "RUNNING") running++;
  }
  for (const t of own.values()) { tin += t[0]; tout += t[1]; ttot += t[2]; }
  const lower = str.map((s) => String(s).toLowerCase());
  const details = new Map();
  for (const key of Object.keys(raw.details || {})) details.set(Number(key), raw.details[key]);
  return {
    index, id: raw.id, name: raw.name, status: raw.status, live: raw.running,
    total: Math.max(raw.total_us, 1), count: raw.count, n, str, lower, cols: c, parent,
    children, roots, depth, own, sub, subErr, errors, running,
    tokens: [tin, tout, ttot], details,
  };
}

function decodePayload(text) {
  let raw;
  try { raw = JSON.parse(text || "{}"); } catch (e) { raw = {}; }
  const traces = (raw.traces || []).map(decodeTrace);
  return { traces, more: raw.more || 0 };
}

// ---------------------------------------------------------------------------------------
// JSON viewer (lazy: children are built when a node is opened)

function scalar(value) {
  if (value === null) return h("span", "tv-j-null", "null");
  if (typeof value === "string") {
    const el = h("span", "tv-j-str");
    if (value.length > LONG_STRING) {
      el.textContent = JSON.stringify(value.slice(0, LONG_STRING)).slice(0, -1) + "…\"";
      const more = h("button", "tv-link", "show all " + fmtInt(value.length) + " chars");
      more.addEventListener("click", (ev) => {
        ev.stopPropagation();
        el.textContent = JSON.stringify(value);
        more.remove();
      });
      const wrap = h("span");
      wrap.append(el, " ", more);
      return wrap;
    }
    el.textContent = JSON.stringify(value);
    return el;
  }
  if (typeof value === "number") return h("span", "tv-j-num", String(value));
  if (typeof value === "boolean") return h("span", "tv-j-bool", String(value));
  return h("span", "tv-j-str", String(value));
}

function jsonNode(key, value, depth) {
  const node = h("div", "tv-j-node");
  const line = h("div", "tv-j-line");
  node.append(line);
  const isObj = value !== null && typeof value === "object";
  const keyEl = key === null ? null : h("span", "tv-j-key", key + ":");
  if (!isObj) {
    line.append(h("span", "tv-j-tog tv-j-leaf"));
    if (keyEl) line.append(keyEl);
    line.append(scalar(value));
    return node;
  }
  const isArr = Array.isArray(value);
  const keys = isArr ? null : Object.keys(value);
  const size = isArr ? value.length : keys.length;
  const tog = h("span", "tv-j-tog", size ? "▸" : "");
  line.append(tog);
  if (keyEl) line.append(keyEl);
  const summary = h("span", "tv-j-sum", isArr ? "[" + size + "]" : "{" + size + "}");
  line.append(summary);
  let body = null;
  let open = false;
  const fill = (from) => {
    const end = Math.min(size, from + JSON_CHUNK);
    for (let i = from; i < end; i++) {
      const k = isArr ? String(i) : keys[i];
      body.append(jsonNode(k, isArr ? value[i] : value[k], depth + 1));
    }
    if (end < size) {
      const more = h("button", "tv-link tv-j-more", "show " + fmtInt(size - end) + " more");
      more.addEventListener("click", (ev) => { ev.stopPropagation(); more.remove(); fill(end); });
      body.append(more);
    }
  };
  const setOpen = (value_) => {
    open = value_;
    tog.textContent = size ? (open ? "▾" : "▸") : "";
    if (open && !body) { body = h("div", "tv-j-body"); fill(0); node.append(body); }
    if (body) body.hidden = !open;
  };
  if (size) {
    line.classList.add("tv-j-click");
    line.addEventListener("click", () => setOpen(!open));
    if (depth < JSON_OPEN_DEPTH) setOpen(true);
  }
  return node;
}

function jsonView(value) {
  const root = h("div", "tv-json");
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    const keys = Object.keys(value);
    if (!keys.length) root.append(h("span", "tv-muted", "{}"));
    for (const k of keys.slice(0, JSON_CHUNK)) root.append(jsonNode(k, value[k], 1));
    if (keys.length > JSON_CHUNK) root.append(jsonNode("…", keys.slice(JSON_CHUNK).reduce((o, k) => { o[k] = value[k]; return o; }, {}), 1));
  } else if (Array.isArray(value)) {
    root.append(jsonNode(null, value, 0));
  } else if (typeof value === "string" && value.includes("\n")) {
    root.append(h("pre", "tv-pre", value));
  } else {
    root.append(scalar(value));
  }
  return root;
}

function isEmpty(wrapped) {
  if (!wrapped || !("j" in wrapped)) return !wrapped;
  const v = wrapped.j;
  return v === null || v === undefined || (typeof v === "object" && Object.keys(v).length === 0);
}

// ---------------------------------------------------------------------------------------
// The view

export default {
  render({ model, el }) {
    const root = h("div", "tv-root");
    root.setAttribute("data-testid", "trace-view");
    el.append(root);
    let data = decodePayload(model.get("payload"));
    const st = {
      sel: null, collapsed: new Set(), expanded: new Set(), depthLimit: null,
      query: "", keep: null, matches: null, remote: null, seq: 0, rows: [],
    };
    const pending = new Map();
    const detailCache = new Map();
    let reqSeq = 0;

    // ----- requests to the kernel
    const request = (msg, onReply, onFail) => {
      const seq = ++reqSeq;
      pending.set(seq, onReply);
      try { model.send(Object.assign({ seq }, msg)); } catch (e) { pending.delete(seq); if (onFail) onFail(); return; }
      setTimeout(() => { if (pending.has(seq)) { pending.delete(seq); if (onFail) onFail(); } }, 15000);
    };
    const onMsg = (msg) => {
      if (!msg || typeof msg !== "object") return;
      const cb = pending.get(msg.seq);
      if (cb) { pending.delete(msg.seq); cb(msg); }
    };
    model.on("msg:custom", onMsg);

    // ----- layout
    const bar = h("div", "tv-toolbar");
    const summary = h("div", "tv-summary");
    const controls = h("div", "tv-controls");
    const search = h("input", "tv-search");
    search.type = "search";
    search.placeholder = "Search spans…";
    search.title = "Filter spans by name, type or content";
    search.setAttribute("aria-label", "Search spans");
    const matchInfo = h("span", "tv-matchinfo");
    const btnExpand = h("button", "tv-btn", "Expand all");
    const btnCollapse = h("button", "tv-btn", "Collapse all");
    const depthSel = h("select", "tv-select");
    depthSel.setAttribute("aria-label", "Expand to depth");
    for (const [v, label] of [["", "Depth…"], ["1", "Depth 1"], ["2", "Depth 2"], ["3", "Depth 3"], ["5", "Depth 5"], ["all", "All levels"]]) {
      const o = h("option", null, label);
      o.value = v;
      depthSel.append(o);
    }
    controls.append(search, matchInfo, btnExpand, btnCollapse, depthSel);
    bar.append(summary, controls);

    const body = h("div", "tv-body");
    const treePane = h("div", "tv-tree");
    const header = h("div", "tv-row tv-colhead");
    header.append(h("div", "tv-c-name", "Span"), h("div", "tv-c-tok", "Tokens"), h("div", "tv-c-dur", "Duration"), h("div", "tv-c-wf", "Timeline"));
    const scroller = h("div", "tv-scroll");
    scroller.tabIndex = 0;
    const sizer = h("div", "tv-sizer");
    scroller.append(sizer);
    treePane.append(header, scroller);
    const detail = h("div", "tv-detail");
    body.append(treePane, detail);
    const footer = h("div", "tv-footer");
    root.append(bar, body, footer);

    // ----- tree state
    const multi = () => data.traces.length > 1;
    const keyOf = (t, s) => t + ":" + s;
    const defaultLimit = (tr) => {
      if (st.depthLimit !== null) return st.depthLimit;
      const total = data.traces.reduce((a, x) => a + x.n, 0);
      return total > BIG_TRACE || tr.n > BIG_TRACE ? 2 : Infinity;
    };
    const isOpen = (tr, s) => {
      const key = keyOf(tr.index, s);
      if (st.collapsed.has(key)) return false;
      if (st.expanded.has(key)) return true;
      if (s < 0) return data.traces.length <= 3 || tr.index === 0 || st.depthLimit !== null;
      return tr.depth[s] + 1 < defaultLimit(tr);
    };
    const toggle = (t, s) => {
      const tr = data.traces[t];
      const key = keyOf(t, s);
      if (isOpen(tr, s)) { st.expanded.delete(key); st.collapsed.add(key); }
      else { st.collapsed.delete(key); st.expanded.add(key); }
      rebuild();
    };

    const buildRows = () => {
      const rows = [];
      for (const tr of data.traces) {
        const base = multi() ? 1 : 0;
        if (multi()) {
          rows.push({ t: tr.index, s: -1, d: 0 });
          if (!st.keep && !isOpen(tr, -1)) continue;
        }
        const keep = st.keep ? st.keep[tr.index] : null;
        if (keep && !keep.size) continue;
        const stack = tr.roots.slice().reverse();
        while (stack.length) {
          const i = stack.pop();
          if (keep && !keep.has(i)) continue;
          rows.push({ t: tr.index, s: i, d: tr.depth[i] + base });
          const kids = tr.children[i];
          if (kids && (keep || isOpen(tr, i))) {
            for (let k = kids.length - 1; k >= 0; k--) stack.push(kids[k]);
          }
        }
      }
      return rows;
    };

    // ----- rows
    const renderRow = (row, top) => {
      const tr = data.traces[row.t];
      const el = h("div", "tv-row");
      el.style.top = top + "px";
      el.dataset.t = row.t;
      el.dataset.s = row.s;
      const nameCell = h("div", "tv-c-name");
      nameCell.style.paddingLeft = 6 + Math.min(row.d, 40) * 14 + "px";
      const tokCell = h("div", "tv-c-tok");
      const durCell = h("div", "tv-c-dur");
      const wf = h("div", "tv-c-wf");
      const track = h("div", "tv-track");
      const barEl = h("div", "tv-bar");
      track.append(barEl);
      wf.append(track);
      if (row.s < 0) {
        el.classList.add("tv-tracerow");
        const tog = h("span", "tv-tog", isOpen(tr, -1) || st.keep ? "▾" : "▸");
        nameCell.append(tog, statusDot(tr.status), h("span", "tv-name", tr.name), h("span", "tv-count", fmtInt(tr.count) + " spans"));
        if (tr.tokens[2]) tokCell.textContent = fmtTok(tr.tokens[2]);
        durCell.textContent = tr.live ? "running" : fmtDur(tr.total);
        barEl.style.left = "0%";
        barEl.style.width = "100%";
        barEl.classList.add(tr.status === "ERROR" ? "tv-bar-error" : "tv-bar-trace");
        if (tr.live) barEl.classList.add("tv-bar-running");
      } else {
        const s = row.s;
        const c = tr.cols;
        const type = tr.str[c.type[s]];
        const status = tr.str[c.status[s]];
        const kids = tr.children[s];
        const tog = h("span", "tv-tog", kids ? (st.keep || isOpen(tr, s) ? "▾" : "▸") : "");
        const [label, family] = typeInfo(type);
        const chip = h("span", "tv-chip tv-f-" + family, label);
        chip.title = type;
        nameCell.append(tog, chip, h("span", "tv-name", tr.str[c.name[s]]));
        if (status === "ERROR") nameCell.append(h("span", "tv-err", "!"));
        else if (status === "RUNNING") nameCell.append(h("span", "tv-spin"));
        else if (kids && tr.subErr[s] && !isOpen(tr, s) && !st.keep) nameCell.append(h("span", "tv-err tv-err-sub", "!"));
        if (kids && !isOpen(tr, s) && !st.keep) nameCell.append(h("span", "tv-count", String(kids.length)));
        const tok = tr.sub[s * 3 + 2];
        if (tok) tokCell.textContent = fmtTok(tok);
        const dur = c.dur[s];
        const total = tr.total;
        const start = c.start[s];
        durCell.textContent = status === "RUNNING" ? fmtDur(total - start) + "…" : fmtDur(dur);
        const width = dur < 0 ? total - start : dur;
        barEl.style.left = Math.min(100, (start / total) * 100) + "%";
        barEl.style.width = Math.max(0.3, Math.min(100, (width / total) * 100)) + "%";
        barEl.classList.add("tv-f-" + family);
        if (status === "ERROR") barEl.classList.add("tv-bar-error");
        if (status === "RUNNING") { barEl.classList.add("tv-bar-running"); el.classList.add("tv-running"); }
        if (status === "ERROR") el.classList.add("tv-error");
        if (st.matches && st.matches[row.t] && st.matches[row.t].has(s)) el.classList.add("tv-match");
        el.title = tr.str[c.name[s]] + " (" + type + ", " + status + ")";
      }
      if (st.sel && st.sel.t === row.t && st.sel.s === row.s) el.classList.add("tv-selected");
      el.append(nameCell, tokCell, durCell, wf);
      return el;
    };

    let drawQueued = false;
    const draw = () => {
      drawQueued = false;
      const rows = st.rows;
      const height = Math.min(MAX_TREE_H, Math.max(rows.length, 1) * ROW_H + 2);
      scroller.style.height = height + "px";
      sizer.style.height = rows.length * ROW_H + "px";
      const first = Math.max(0, Math.floor(scroller.scrollTop / ROW_H) - OVERSCAN);
      const last = Math.min(rows.length, Math.ceil((scroller.scrollTop + height) / ROW_H) + OVERSCAN);
      const frag = document.createDocumentFragment();
      for (let i = first; i < last; i++) frag.append(renderRow(rows[i], i * ROW_H));
      sizer.replaceChildren(frag);
      if (!rows.length) sizer.append(h("div", "tv-empty", st.query ? "No span matches." : "No spans."));
    };
    const queueDraw = () => {
      if (!drawQueued) { drawQueued = true; requestAnimationFrame(draw); }
    };
    const rebuild = () => { st.rows = buildRows(); draw(); };

    // ----- toolbar summary
    const statusDot = (status) => h("span", "tv-pill tv-pill-" + String(status).toLowerCase(), status === "RUNNING" ? "running" : status);
    const drawSummary = () => {
      summary.replaceChildren();
      const trs = data.traces;
      if (!trs.length) { summary.append(h("span", "tv-muted", "No traces.")); return; }
      let spans = 0, errors = 0, tin = 0, tout = 0, ttot = 0, live = false;
      for (const tr of trs) {
        spans += tr.count; errors += tr.errors;
        tin += tr.tokens[0]; tout += tr.tokens[1]; ttot += tr.tokens[2];
        live = live || tr.live;
      }
      if (trs.length === 1) {
        const tr = trs[0];
        summary.append(statusDot(tr.status), h("span", "tv-title", tr.name));
        summary.append(h("span", "tv-stat", tr.live ? "running " + fmtDur(tr.total) : fmtDur(tr.total)));
      } else {
        summary.append(h("span", "tv-title", fmtInt(trs.length) + " traces"));
        if (live) summary.append(statusDot("RUNNING"));
      }
      summary.append(h("span", "tv-stat", fmtInt(spans) + (spans === 1 ? " span" : " spans")));
      if (errors) summary.append(h("span", "tv-stat tv-stat-err", fmtInt(errors) + (errors === 1 ? " error" : " errors")));
      if (ttot) {
        const tok = h("span", "tv-stat", fmtInt(ttot) + " tokens");
        tok.title = fmtInt(tin) + " input · " + fmtInt(tout) + " output";
        summary.append(tok, h("span", "tv-stat tv-muted", "(" + fmtInt(tin) + " in · " + fmtInt(tout) + " out)"));
      }
      if (trs.length === 1) summary.append(h("span", "tv-id", trs[0].id));
      footer.textContent = data.more ? "… and " + fmtInt(data.more) + " more traces not shown" : "";
      footer.hidden = !data.more;
    };

    // ----- detail pane
    let detailKey = null;
    const section = (title, open, content, extra) => {
      const sec = h("div", "tv-sec");
      const head = h("button", "tv-sec-head");
      const tog = h("span", "tv-tog", open ? "▾" : "▸");
      head.append(tog, h("span", null, title));
      if (extra) head.append(h("span", "tv-sec-extra", extra));
      const bodyEl = h("div", "tv-sec-body");
      bodyEl.append(content);
      bodyEl.hidden = !open;
      head.addEventListener("click", () => { bodyEl.hidden = !bodyEl.hidden; tog.textContent = bodyEl.hidden ? "▸" : "▾"; });
      sec.append(head, bodyEl);
      return sec;
    };
    const valueView = (wrapped, t, s, field) => {
      const box = h("div", "tv-value");
      if (!wrapped) { box.append(h("span", "tv-muted", "—")); return box; }
      if ("j" in wrapped) { box.append(jsonView(wrapped.j)); return box; }
      const note = h("div", "tv-note", "Preview: first " + fmtInt(wrapped.p.length) + " of " + fmtInt(wrapped.n) + " characters. ");
      const load = h("button", "tv-link", "Load full value");
      note.append(load);
      box.append(note, h("pre", "tv-pre", wrapped.p));
      load.addEventListener("click", () => {
        load.disabled = true;
        load.textContent = "Loading…";
        request({ kind: "value", t, s, field }, (msg) => {
          let parsed;
          try { parsed = JSON.parse(msg.text); } catch (e) { parsed = msg.text; }
          box.replaceChildren(jsonView(parsed));
        }, () => { load.textContent = "Not available (kernel not connected)"; });
      });
      return box;
    };
    const chatView = (messages) => {
      const box = h("div", "tv-chat");
      for (const m of messages) {
        const role = String(m.role || "?");
        const msg = h("div", "tv-msg tv-role-" + (["user", "assistant", "system", "tool"].includes(role) ? role : "other"));
        msg.append(h("div", "tv-msg-role", role));
        for (const p of m.parts || []) {
          if (p.k === "text") msg.append(h("div", "tv-msg-text", p.t));
          else if (p.k === "tool_call") {
            const call = h("div", "tv-msg-tool");
            call.append(h("div", "tv-msg-toolname", "→ " + (p.n || "tool call")), h("pre", "tv-pre", p.t));
            msg.append(call);
          } else if (p.k === "tool_result") {
            const res = h("div", "tv-msg-tool");
            res.append(h("div", "tv-msg-toolname", "← result" + (p.n ? " " + p.n : "")), h("pre", "tv-pre", p.t));
            msg.append(res);
          } else if (p.k === "thinking") msg.append(h("div", "tv-msg-thinking", p.t));
          else if (p.k === "image") msg.append(h("div", "tv-muted", p.t));
          else msg.append(h("pre", "tv-pre", p.t));
        }
        box.append(msg);
      }
      return box;
    };
    const toolsView = (tools) => {
      const box = h("div", "tv-tools");
      for (const tool of tools) {
        const row = h("div", "tv-toolrow");
        row.append(h("span", "tv-toolname", tool.name));
        if (tool.description) row.append(h("span", "tv-tooldesc", tool.description));
        if (tool.parameters) {
          const params = h("pre", "tv-pre tv-toolparams", tool.parameters);
          params.hidden = true;
          const btn = h("button", "tv-link", "parameters");
          btn.addEventListener("click", () => { params.hidden = !params.hidden; });
          row.append(btn, params);
        }
        box.append(row);
      }
      return box;
    };
    const metaGrid = (pairs) => {
      const grid = h("div", "tv-meta");
      for (const [k, v] of pairs) {
        if (v === null || v === undefined || v === "") continue;
        grid.append(h("div", "tv-meta-k", k), h("div", "tv-meta-v", v));
      }
      return grid;
    };
    const fillDetail = (t, s, d) => {
      const tr = data.traces[t];
      detail.replaceChildren();
      const [label, family] = typeInfo(d.type);
      const head = h("div", "tv-d-head");
      head.append(h("span", "tv-chip tv-f-" + family, label), h("span", "tv-d-name", d.name), statusDot(tr.str[tr.cols.status[s]] === "RUNNING" ? "RUNNING" : d.status));
      detail.append(head);
      const subTok = tr.sub[s * 3 + 2];
      const ownTok = d.tokens;
      const start = tr.cols.start[s];
      detail.append(metaGrid([
        ["Span ID", d.id],
        ["Type", d.type],
        ["Duration", d.end_ns ? fmtDur((d.end_ns - d.start_ns) / 1000) : "running"],
        ["Start", "+" + fmtDur(start) + " from trace start"],
        ["Model", d.model],
        ["Tokens", ownTok ? fmtInt(ownTok[2]) + " (" + fmtInt(ownTok[0]) + " in · " + fmtInt(ownTok[1]) + " out)" : null],
        ["Subtree tokens", subTok && (!ownTok || subTok !== ownTok[2]) ? fmtInt(subTok) + " (" + fmtInt(tr.sub[s * 3]) + " in · " + fmtInt(tr.sub[s * 3 + 1]) + " out)" : null],
        ["Status", d.message && !d.exception ? d.message : null],
      ]));
      if (d.exception) {
        const ex = h("div", "tv-exc");
        ex.append(h("div", "tv-exc-title", (d.exception.type || "Exception") + ": " + d.exception.message));
        if (d.exception.stacktrace) ex.append(h("pre", "tv-pre tv-stack", d.exception.stacktrace));
        detail.append(section("Exception", true, ex));
      }
      if (d.chat && d.chat.length) detail.append(section("Conversation", true, chatView(d.chat), d.chat.length + " messages"));
      if (d.tools && d.tools.length) detail.append(section("Tools", true, toolsView(d.tools), String(d.tools.length)));
      detail.append(section("Inputs", !(d.chat && d.chat.length), valueView(d.inputs, t, s, "inputs")));
      detail.append(section("Outputs", !(d.chat && d.chat.length), valueView(d.outputs, t, s, "outputs")));
      detail.append(section("Attributes", !isEmpty(d.attributes), valueView(d.attributes, t, s, "attributes")));
      if (d.events && d.events.length) {
        const evBox = h("div", "tv-events");
        for (const e of d.events) {
          const row = h("div", "tv-event");
          row.append(h("span", "tv-event-name", e.name), h("span", "tv-muted", " +" + fmtDur(e.offset_us)));
          row.append(valueView(e.attributes, t, s, "events"));
          evBox.append(row);
        }
        detail.append(section("Events", d.events.length <= 5, evBox, String(d.events.length)));
      }
    };
    const showDetail = (force) => {
      const sel = st.sel;
      if (!sel || !data.traces[sel.t]) { detail.replaceChildren(h("div", "tv-muted tv-pad", "Select a span to see its details.")); detailKey = null; return; }
      const tr = data.traces[sel.t];
      let s = sel.s;
      if (s < 0) s = tr.roots[0];
      if (s === undefined) return;
      const status = tr.str[tr.cols.status[s]];
      const key = sel.t + ":" + s + ":" + status + ":" + tr.id;
      if (!force && key === detailKey) return;
      detailKey = key;
      const cacheKey = tr.id + ":" + s;
      const d = (status !== "RUNNING" && detailCache.get(cacheKey)) || tr.details.get(s);
      if (d) { fillDetail(sel.t, s, d); return; }
      detail.replaceChildren(h("div", "tv-muted tv-pad", tr.live ? "Loading details… (the kernel answers once the cell has finished)" : "Loading details…"));
      request({ kind: "detail", t: sel.t, s }, (msg) => {
        if (msg.kind !== "detail") return;
        if (status !== "RUNNING") detailCache.set(cacheKey, msg.detail);
        if (st.sel && st.sel.t === msg.t && (st.sel.s === msg.s || (st.sel.s < 0 && tr.roots[0] === msg.s))) fillDetail(msg.t, msg.s, msg.detail);
      }, () => {
        if (detailKey === key) detail.replaceChildren(h("div", "tv-muted tv-pad", "Details are not available: the kernel is not connected."));
      });
    };
    const select = (t, s) => {
      st.sel = { t, s };
      draw();
      showDetail(false);
    };

    // ----- search
    let searchTimer = null;
    const applySearch = () => {
      const q = st.query.trim().toLowerCase();
      if (!q) { st.keep = null; st.matches = null; matchInfo.textContent = ""; rebuild(); return; }
      const keep = [], matches = [];
      let count = 0;
      for (const tr of data.traces) {
        const m = new Set();
        const c = tr.cols;
        for (let i = 0; i < tr.n; i++) {
          if (tr.lower[c.name[i]].includes(q) || tr.lower[c.type[i]].includes(q) || tr.lower[c.status[i]].includes(q)) m.add(i);
        }
        const remote = st.remote && st.remote.q === st.query.trim() ? st.remote.hits[String(tr.index)] : null;
        if (remote) for (const i of remote) if (i < tr.n) m.add(i);
        const k = new Set();
        for (const i of m) {
          let j = i;
          while (j >= 0 && j < tr.n && !k.has(j)) { k.add(j); j = tr.parent[j]; }
        }
        count += m.size;
        keep.push(k);
        matches.push(m);
      }
      st.keep = keep;
      st.matches = matches;
      matchInfo.textContent = fmtInt(count) + (count === 1 ? " match" : " matches");
      scroller.scrollTop = 0;
      rebuild();
    };
    search.addEventListener("input", () => {
      st.query = search.value;
      clearTimeout(searchTimer);
      searchTimer = setTimeout(() => {
        applySearch();
        const q = st.query.trim();
        if (q) request({ kind: "search", q }, (msg) => { if (msg.kind === "search") { st.remote = msg; if (msg.q === st.query.trim()) applySearch(); } });
      }, 150);
    });
    search.addEventListener("keydown", (ev) => { if (ev.key === "Escape") { search.value = ""; st.query = ""; applySearch(); } });

    // ----- controls
    btnExpand.addEventListener("click", () => { st.depthLimit = Infinity; st.collapsed.clear(); st.expanded.clear(); depthSel.value = ""; rebuild(); });
    btnCollapse.addEventListener("click", () => { st.depthLimit = 1; st.collapsed.clear(); st.expanded.clear(); depthSel.value = ""; scroller.scrollTop = 0; rebuild(); });
    depthSel.addEventListener("change", () => {
      if (!depthSel.value) return;
      st.depthLimit = depthSel.value === "all" ? Infinity : Number(depthSel.value);
      st.collapsed.clear(); st.expanded.clear();
      rebuild();
    });
    scroller.addEventListener("scroll", queueDraw);
    sizer.addEventListener("click", (ev) => {
      const rowEl = ev.target.closest(".tv-row");
      if (!rowEl) return;
      const t = Number(rowEl.dataset.t), s = Number(rowEl.dataset.s);
      if (ev.target.classList.contains("tv-tog") || s < 0) { toggle(t, s); if (s >= 0) return; }
      select(t, s);
    });
    sizer.addEventListener("dblclick", (ev) => {
      const rowEl = ev.target.closest(".tv-row");
      if (rowEl && Number(rowEl.dataset.s) >= 0) toggle(Number(rowEl.dataset.t), Number(rowEl.dataset.s));
    });
    scroller.addEventListener("keydown", (ev) => {
      const rows = st.rows;
      if (!rows.length) return;
      let i = st.sel ? rows.findIndex((r) => r.t === st.sel.t && r.s === st.sel.s) : -1;
      if (ev.key === "ArrowDown") i = Math.min(rows.length - 1, i + 1);
      else if (ev.key === "ArrowUp") i = Math.max(0, i - 1);
      else if ((ev.key === "ArrowRight" || ev.key === "ArrowLeft") && i >= 0) {
        const r = rows[i];
        const tr = data.traces[r.t];
        const open = isOpen(tr, r.s);
        if ((ev.key === "ArrowRight") !== open && (r.s < 0 || tr.children[r.s])) toggle(r.t, r.s);
        ev.preventDefault();
        return;
      } else return;
      ev.preventDefault();
      select(rows[i].t, rows[i].s);
      const top = i * ROW_H;
      if (top < scroller.scrollTop) scroller.scrollTop = top;
      else if (top + ROW_H > scroller.scrollTop + scroller.clientHeight) scroller.scrollTop = top + ROW_H - scroller.clientHeight;
    });

    // ----- live updates
    const onPayload = () => {
      data = decodePayload(model.get("payload"));
      if (st.sel && !data.traces[st.sel.t]) st.sel = null;
      if (!st.sel && data.traces.length) st.sel = { t: 0, s: data.traces[0].roots.length ? data.traces[0].roots[0] : -1 };
      root.classList.toggle("tv-live", data.traces.some((t) => t.live));
      drawSummary();
      if (st.query.trim()) applySearch(); else rebuild();
      showDetail(false);
    };
    model.on("change:payload", onPayload);
    onPayload();
    return () => {
      model.off("change:payload", onPayload);
      model.off("msg:custom", onMsg);
    };
  },
};
