// LLM conversations: one card per message, long ones folded (the answer stays in view),
// a copy button per message; retriever documents as cards; tool lists.

import { copyButton, h } from "./dom.js";
import { foldedText, jsonView } from "./text_view.js";
import { parseJsonString } from "./values.js";

const ROLES = ["user", "assistant", "system", "tool"];

function messageText(m) {
  return (m.parts || []).map((p) => (p.n ? p.n + ": " : "") + p.t).join("\n\n");
}

function partView(p, fold) {
  const opts = fold ? { maxLines: 4, maxChars: 400 } : { maxLines: 40, maxChars: 4000 };
  if (p.k === "text") return foldedText(p.t, "tv-msg-text", opts);
  if (p.k === "tool_call" || p.k === "tool_result") {
    const box = h("div", "tv-msg-tool");
    box.append(h("div", "tv-msg-toolname", (p.k === "tool_call" ? "→ " + (p.n || "tool call") : "← result" + (p.n ? " " + p.n : ""))));
    const parsed = parseJsonString(p.t);
    box.append(parsed !== undefined ? jsonView(parsed) : foldedText(p.t, "tv-pre tv-text", opts));
    return box;
  }
  if (p.k === "thinking") return foldedText(p.t, "tv-msg-thinking", { maxLines: 3, maxChars: 300 });
  if (p.k === "image") return h("div", "tv-muted", p.t);
  return foldedText(p.t, "tv-pre tv-text", opts);
}

/** The conversation of a chat span. The last message (the answer) is never folded; system
 *  prompts and long earlier messages are. */
export function chatView(messages) {
  const box = h("div", "tv-chat");
  const last = messages.length - 1;
  messages.forEach((m, i) => {
    const role = String(m.role || "?");
    const msg = h("div", "tv-msg tv-role-" + (ROLES.includes(role) ? role : "other"));
    const head = h("div", "tv-msg-head");
    head.append(h("span", "tv-msg-role", role), copyButton(() => messageText(m), "Copy", "Copy this message"));
    msg.append(head);
    const fold = i !== last && (role === "system" || i < last - 1 || messageText(m).length > 1500);
    for (const p of m.parts || []) msg.append(partView(p, fold));
    box.append(msg);
  });
  return box;
}

/** Tools offered to the model, with their parameters behind a toggle. */
export function toolsView(tools) {
  const box = h("div", "tv-tools");
  for (const tool of tools) {
    const row = h("div", "tv-toolrow");
    row.append(h("span", "tv-toolname", tool.name));
    if (tool.description) row.append(h("span", "tv-tooldesc", tool.description));
    if (tool.parameters) {
      const params = h("pre", "tv-pre tv-toolparams", tool.parameters);
      params.hidden = true;
      const btn = h("button", "tv-link", "parameters");
      btn.type = "button";
      btn.addEventListener("click", () => { params.hidden = !params.hidden; });
      row.append(btn, params);
    }
    box.append(row);
  }
  return box;
}

/** Retriever documents as cards: content (folded), id or URI, score. */
export function documentsView(docs) {
  const box = h("div", "tv-docs");
  docs.forEach((d, i) => {
    const card = h("div", "tv-doc");
    const head = h("div", "tv-doc-head");
    head.append(h("span", "tv-doc-n", "#" + (i + 1)));
    if (d.id) head.append(h("span", "tv-doc-id", d.id));
    if (d.score !== null) head.append(h("span", "tv-doc-score", "score " + (Math.round(d.score * 1000) / 1000)));
    head.append(copyButton(() => d.content, "Copy", "Copy this document"));
    card.append(head, foldedText(d.content, "tv-doc-text", { maxLines: 5, maxChars: 500 }));
    const SCORE = ["score", "relevance_score", "similarity", "distance"];
    const ID = ["id", "doc_id", "document_id", "uri", "source", "url"];
    // metadata entries already shown in the card's head are not repeated
    const meta = Object.keys(d.metadata || {}).filter((k) => !(SCORE.includes(k) && d.metadata[k] === d.score) && !(ID.includes(k) && String(d.metadata[k]) === d.id));
    if (meta.length) {
      const metaBox = h("div", "tv-doc-meta");
      for (const k of meta.slice(0, 20)) {
        const v = d.metadata[k];
        metaBox.append(h("span", "tv-doc-mk", k + ": "), h("span", "tv-doc-mv", typeof v === "string" ? v : JSON.stringify(v)), document.createTextNode("  "));
      }
      card.append(metaBox);
    }
    box.append(card);
  });
  return box;
}
