// The detail pane of one span, or of a trace (its header row selected).

import { chatView, documentsView, toolsView } from "./chat.js";
import { compareSection } from "./compare_view.js";
import { copyButton, h } from "./dom.js";
import { fmtCost, fmtDur, fmtInt, fmtTime, typeInfo } from "./format.js";
import { foldedText, jsonView } from "./text_view.js";
import { asDocuments, cleanStack, stackWithoutHeader } from "./values.js";

export function statusPill(status) {
  const s = String(status || "UNSET");
  return h("span", "tv-pill tv-pill-" + s.toLowerCase(), s === "RUNNING" ? "running" : s);
}

function section(title, open, content, extra, tools) {
  const sec = h("div", "tv-sec");
  const bar = h("div", "tv-sec-bar");
  const head = h("button", "tv-sec-head");
  head.type = "button";
  head.setAttribute("aria-expanded", String(open));
  const tog = h("span", "tv-tog", open ? "▾" : "▸");
  head.append(tog, h("span", null, title));
  if (extra) head.append(h("span", "tv-sec-extra", extra));
  bar.append(head);
  if (tools) for (const t of tools) bar.append(t);
  const body = h("div", "tv-sec-body");
  body.append(content);
  body.hidden = !open;
  head.addEventListener("click", () => {
    body.hidden = !body.hidden;
    tog.textContent = body.hidden ? "▸" : "▾";
    head.setAttribute("aria-expanded", String(!body.hidden));
  });
  sec.append(bar, body);
  sec.dataset.section = title.toLowerCase();
  return sec;
}

function metaGrid(pairs) {
  const grid = h("div", "tv-meta");
  for (const [k, v, copy] of pairs) {
    if (v === null || v === undefined || v === "") continue;
    const val = h("div", "tv-meta-v");
    val.append(h("span", null, v));
    if (copy) val.append(copyButton(() => v, "Copy", "Copy " + k));
    grid.append(h("div", "tv-meta-k", k), val);
  }
  return grid;
}

function kvTable(obj) {
  const grid = h("div", "tv-meta tv-kv");
  for (const k of Object.keys(obj).slice(0, 200)) {
    const v = obj[k];
    grid.append(h("div", "tv-meta-k", k), h("div", "tv-meta-v", typeof v === "string" ? v : JSON.stringify(v)));
  }
  return grid;
}

function textOf(wrapped) {
  if (!wrapped) return "";
  if ("j" in wrapped) return typeof wrapped.j === "string" ? wrapped.j : JSON.stringify(wrapped.j, null, 1);
  return wrapped.p || "";
}

function isEmpty(wrapped) {
  if (!wrapped || !("j" in wrapped)) return !wrapped;
  const v = wrapped.j;
  return v === null || v === undefined || (typeof v === "object" && Object.keys(v).length === 0);
}

/** A value ({j} or a preview {p, n}); "Load full value" asks the kernel when there is one. */
function valueView(wrapped, ctx, field, asDocs) {
  const box = h("div", "tv-value");
  if (!wrapped) { box.append(h("span", "tv-muted", "—")); return box; }
  if ("j" in wrapped) {
    const docs = asDocs ? asDocuments(wrapped.j) : null;
    box.append(docs ? documentsView(docs) : jsonView(wrapped.j));
    return box;
  }
  const note = h("div", "tv-note", "Preview: first " + fmtInt(wrapped.p.length) + " of " + fmtInt(wrapped.n) + " characters. ");
  box.append(note, foldedText(wrapped.p, "tv-pre tv-text"));
  if (!ctx.request) { note.append(h("span", null, "The full value is in the trace store (mlflow.get_trace).")); return box; }
  const load = h("button", "tv-link", "Load full value");
  load.type = "button";
  note.append(load);
  load.addEventListener("click", () => {
    load.disabled = true;
    load.textContent = "Loading…";
    ctx.request({ kind: "value", t: ctx.t, s: ctx.s, field }, (msg) => {
      let parsed;
      try { parsed = JSON.parse(msg.text); } catch (e) { parsed = msg.text; }
      const docs = asDocs ? asDocuments(parsed) : null;
      box.replaceChildren(docs ? documentsView(docs) : jsonView(parsed));
    }, () => { load.textContent = "Not available (kernel not connected)"; });
  });
  return box;
}

function exceptionView(ex) {
  const box = h("div", "tv-exc");
  box.append(foldedText((ex.type || "Exception") + ": " + ex.message, "tv-exc-title", { maxLines: 6 }));
  if (ex.stacktrace) {
    const cleaned = cleanStack(stackWithoutHeader(ex.stacktrace, ex.type, ex.message));
    box.append(h("pre", "tv-pre tv-stack", cleaned.text));
    if (cleaned.hidden) {
      const note = h("div", "tv-note", cleaned.hidden + " frame" + (cleaned.hidden === 1 ? "" : "s") + " of mlflow_trace_nb hidden. ");
      const all = h("button", "tv-link", "Show full traceback");
      all.type = "button";
      all.addEventListener("click", () => { box.querySelector(".tv-stack").textContent = ex.stacktrace; note.remove(); });
      note.append(all);
      box.append(note);
    }
  }
  return box;
}

/** Fill `pane` with span `ctx.s`'s detail `d` (ctx: {tr, t, s, request, nowUs}). */
export function spanDetail(pane, ctx, d) {
  const { tr, s } = ctx;
  pane.replaceChildren();
  const [label, family] = typeInfo(d.type);
  const running = tr.str[tr.cols.status[s]] === "RUNNING";
  const head = h("div", "tv-d-head");
  const name = h("span", "tv-d-name", d.name);
  name.title = d.name;
  head.append(h("span", "tv-chip tv-f-" + family, label), name, statusPill(running ? "RUNNING" : d.status));
  pane.append(head);
  const subTok = tr.sub[s * 3 + 2];
  const ownTok = d.tokens;
  const start = tr.cols.start[s];
  const dur = running ? ctx.nowUs - start : (d.end_ns ? (d.end_ns - d.start_ns) / 1000 : tr.cols.dur[s]);
  const durEl = [running ? "Running for" : "Duration", fmtDur(dur)];
  pane.append(metaGrid([
    ["Span ID", d.id, true],
    ["Type", d.type],
    ["Model", d.model || tr.models.get(s)],
    durEl,
    ["Started", fmtTime(d.start_ns) + "  (+" + fmtDur(start) + ")"],
    ["Tokens", ownTok ? fmtInt(ownTok[2]) + " (" + fmtInt(ownTok[0]) + " in · " + fmtInt(ownTok[1]) + " out)" : null],
    ["Subtree tokens", subTok && (!ownTok || subTok !== ownTok[2]) ? fmtInt(subTok) + " (" + fmtInt(tr.sub[s * 3]) + " in · " + fmtInt(tr.sub[s * 3 + 1]) + " out)" : null],
    ["Cost", d.cost !== undefined && d.cost !== null ? fmtCost(d.cost) : null],
    ["Status", d.message && !d.exception ? d.message : null],
  ]));
  if (running) pane.querySelector(".tv-meta").dataset.running = "1";
  if (d.exception) pane.append(section("Exception", true, exceptionView(d.exception)));
  const chat = d.chat && d.chat.length ? d.chat : null;
  if (chat) pane.append(section("Conversation", true, chatView(chat), chat.length + " messages"));
  if (d.tools && d.tools.length) pane.append(section("Tools", false, toolsView(d.tools), String(d.tools.length)));
  const retriever = d.type === "RETRIEVER" || d.type === "RERANKER";
  const copyOf = (field) => [copyButton(() => textOf(d[field]), "Copy", "Copy " + field)];
  pane.append(section("Inputs", !chat, valueView(d.inputs, ctx, "inputs", false), null, copyOf("inputs")));
  pane.append(section("Outputs", !chat, valueView(d.outputs, ctx, "outputs", retriever), null, copyOf("outputs")));
  pane.append(section("Attributes", false, valueView(d.attributes, ctx, "attributes", false), isEmpty(d.attributes) ? "none" : null));
  // the exception event is the Exception section above: list the other events only
  const events = (d.events || []).filter((e) => !(d.exception && e.name === "exception"));
  if (events.length) {
    const evBox = h("div", "tv-events");
    for (const e of events) {
      const row = h("div", "tv-event");
      row.append(h("span", "tv-event-name", e.name), h("span", "tv-muted", " +" + fmtDur(e.offset_us)));
      row.append(valueView(e.attributes, ctx, "events", false));
      evBox.append(row);
    }
    pane.append(section("Events", events.length <= 5, evBox, String(events.length)));
  }
}

/** Fill `pane` with trace `tr`'s summary: id, time, status, previews, tags and metadata. */
export function traceDetail(pane, tr, nowUs, request = null) {
  pane.replaceChildren();
  const head = h("div", "tv-d-head");
  const name = h("span", "tv-d-name", tr.name);
  name.title = tr.name;
  head.append(h("span", "tv-chip tv-f-trace", "TRACE"), name, statusPill(tr.live ? "RUNNING" : tr.status));
  pane.append(head);
  pane.append(metaGrid([
    ["Trace ID", tr.id, true],
    ["Started", fmtTime(tr.startNs)],
    [tr.live ? "Running for" : "Duration", fmtDur(tr.live ? nowUs : tr.total)],
    ["Spans", fmtInt(tr.count)],
    ["Errors", tr.errors ? fmtInt(tr.errors) : null],
    ["Tokens", tr.tokens[2] ? fmtInt(tr.tokens[2]) + " (" + fmtInt(tr.tokens[0]) + " in · " + fmtInt(tr.tokens[1]) + " out)" : null],
    ["Cost", tr.cost !== null ? fmtCost(tr.cost) : null],
  ]));
  if (tr.live) pane.querySelector(".tv-meta").dataset.running = "1";
  if (tr.previewIn !== null) pane.append(section("Request", true, jsonView(tr.previewIn), null, [copyButton(() => tr.previewIn, "Copy", "Copy request")]));
  if (tr.previewOut !== null) pane.append(section("Response", true, jsonView(tr.previewOut), null, [copyButton(() => tr.previewOut, "Copy", "Copy response")]));
  if (tr.tags && Object.keys(tr.tags).length) pane.append(section("Tags", true, kvTable(tr.tags), String(Object.keys(tr.tags).length)));
  if (tr.metadata && Object.keys(tr.metadata).length) pane.append(section("Metadata", false, kvTable(tr.metadata), String(Object.keys(tr.metadata).length)));
  // a cell's trace can be compared with the earlier run of that cell (the kernel finds it)
  if (request && !tr.live && tr.tags && tr.tags["mlflow.notebook.cell_id"]) pane.append(section("Compare", true, compareSection(tr, request)));
}
