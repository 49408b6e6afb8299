// The toolbar summary (status, name, time, spans, errors, tokens, cost) and the footer that
// says how to see the traces a cell did not show.

import { statusPill } from "./detail.js";
import { copyButton, h } from "./dom.js";
import { fmtDur, fmtInt, fmtTime } from "./format.js";

/** Fill `summary` and `footer` for `data` (decoded payload); `nowUs(tr)`: running time. */
export function drawSummary(summary, footer, data, nowUs, request) {
  summary.replaceChildren();
  const trs = data.traces;
  if (!trs.length) { summary.append(h("span", "tv-muted", "No traces.")); return; }
  let spans = 0, errors = 0, tin = 0, tout = 0, ttot = 0, live = false, failed = 0;
  for (const tr of trs) {
    spans += tr.count; errors += tr.errors;
    tin += tr.tokens[0]; tout += tr.tokens[1]; ttot += tr.tokens[2];
    live = live || tr.live;
    if (tr.status === "ERROR") failed++;
  }
  if (trs.length === 1) {
    const tr = trs[0];
    const title = h("span", "tv-title", tr.name);
    title.title = tr.name;
    summary.append(statusPill(tr.live ? "RUNNING" : tr.status), title);
    summary.append(h("span", "tv-stat tv-stat-dur", tr.live ? "running " + fmtDur(nowUs(tr)) : fmtDur(tr.total)));
    if (tr.startNs) summary.append(h("span", "tv-stat tv-muted", fmtTime(tr.startNs)));
  } else {
    summary.append(h("span", "tv-title", fmtInt(trs.length + data.more) + " traces"));
    if (failed) summary.append(h("span", "tv-stat tv-stat-err", fmtInt(failed) + " failed"));
    if (live) summary.append(statusPill("RUNNING"));
  }
  summary.append(h("span", "tv-stat", fmtInt(spans) + (spans === 1 ? " span" : " spans")));
  if (errors) summary.append(h("span", "tv-stat tv-stat-err", fmtInt(errors) + (errors === 1 ? " error" : " errors")));
  if (ttot) {
    const tok = h("span", "tv-stat", fmtInt(ttot) + " tokens");
    tok.title = fmtInt(tin) + " input · " + fmtInt(tout) + " output";
    summary.append(tok, h("span", "tv-stat tv-muted", "(" + fmtInt(tin) + " in · " + fmtInt(tout) + " out)"));
  }
  let cost = null;
  for (const tr of trs) if (tr.cost !== null) cost = (cost || 0) + Number(tr.cost);
  if (cost !== null) summary.append(h("span", "tv-stat", "$" + (cost < 0.01 ? cost.toPrecision(2) : cost.toFixed(2))));
  if (data.saved && !request) {
    const note = h("span", "tv-stat tv-muted tv-saved", "saved view");
    note.title = "Drawn from the data saved in the notebook; full values and content search need the kernel that made the traces.";
    summary.append(note);
  }
  footer.replaceChildren();
  if (data.more) {
    const all = trs.length + data.more;
    const fromMs = Math.floor(Math.min(...trs.map((t) => t.startNs || Infinity)) / 1e6);
    const snippet = "mlflow.show_traces(mlflow.search_traces(filter_string=\"timestamp_ms >= " + (Number.isFinite(fromMs) ? fromMs : 0) +
      "\", order_by=[\"timestamp_ms ASC\"], max_results=" + all + "), limit=" + all + ")";
    footer.append(h("span", null, "Showing " + fmtInt(trs.length) + " of " + fmtInt(all) + " traces. "));
    if (request) footer.append(moreButton(data.more, request));
    footer.append(h("span", null, (request ? " Or all of them: " : "All of them: ")), h("code", "tv-code", snippet), copyButton(() => snippet, "Copy", "Copy the code that shows all traces"));
  }
  footer.hidden = !data.more;
}

/** "Show N more": asks the kernel for the next page of the cell's traces (they arrive as a
 *  payload update, which redraws the view); says so when the store has none of them. */
export function moreButton(more, request, page = 50) {
  const btn = h("button", "tv-link tv-more", "Show " + fmtInt(Math.min(more, page)) + " more");
  btn.type = "button";
  btn.title = "Load the next traces of this cell from the trace store";
  btn.addEventListener("click", () => {
    btn.disabled = true;
    btn.textContent = "Loading…";
    request({ kind: "more" }, (msg) => {
      if (!msg || !msg.added) {
        btn.textContent = "Not in the trace store";
        btn.title = "The store holds none of this cell's other traces (another destination, or not written yet).";
      }
    }, () => { btn.disabled = false; btn.textContent = "Show more (retry)"; });
  });
  return btn;
}
