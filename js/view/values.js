// How a value reads best (pure): strings holding JSON shown as JSON, multi-line text as text,
// long text folded, stack traces without this library's own frames, retriever documents.

export const FOLD_CHARS = 600;
export const FOLD_LINES = 8;

/** A string that holds a JSON object or array -> the parsed value, else undefined. */
export function parseJsonString(value) {
  if (typeof value !== "string") return undefined;
  const t = value.trim();
  if (t.length < 2 || t.length > 2_000_000) return undefined;
  const a = t[0], z = t[t.length - 1];
  if (!((a === "{" && z === "}") || (a === "[" && z === "]"))) return undefined;
  try {
    const parsed = JSON.parse(t);
    return parsed !== null && typeof parsed === "object" ? parsed : undefined;
  } catch (e) {
    return undefined;
  }
}

/** What a value is, for display: "json" (object/array), "text" (multi-line or long string),
 *  "scalar" (short string, number, boolean, null). Strings holding JSON count as "json". */
export function classify(value) {
  if (value !== null && typeof value === "object") return { kind: "json", value };
  if (typeof value === "string") {
    const parsed = parseJsonString(value);
    if (parsed !== undefined) return { kind: "json", value: parsed, fromString: true };
    if (value.includes("\n") || value.length > 120) return { kind: "text", value };
  }
  return { kind: "scalar", value };
}

/** Cut long text for a folded view: {head, hidden} (hidden = characters not shown). */
export function foldText(text, maxChars = FOLD_CHARS, maxLines = FOLD_LINES) {
  const s = String(text);
  let cut = Math.min(s.length, maxChars);
  let lines = 0;
  for (let i = 0; i < cut; i++) {
    if (s.charCodeAt(i) === 10 && ++lines >= maxLines) { cut = i; break; }
  }
  if (cut >= s.length) return { head: s, hidden: 0 };
  return { head: s.slice(0, cut), hidden: s.length - cut };
}

// Frames of this library's tracing wrappers (decorator, span lifecycle, instrumentation).
const OWN_FRAME = /[\\/]mlflow_trace_nb[\\/](?!.*[\\/]tests?[\\/])/;

/** A Python traceback without the frames of mlflow_trace_nb itself.
 *  Returns {text, hidden} (hidden = frames left out). */
export function cleanStack(text) {
  const lines = String(text || "").split("\n");
  const out = [];
  let hidden = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (/^\s*File "/.test(line) && OWN_FRAME.test(line)) {
      hidden++;
      // skip the frame's source lines (indented deeper, not a new "File" line)
      while (i + 1 < lines.length && /^\s{4,}/.test(lines[i + 1]) && !/^\s*File "/.test(lines[i + 1])) i++;
      continue;
    }
    out.push(line);
  }
  return { text: out.join("\n"), hidden };
}

/** The trailing "Type: message" line of a traceback (what the exception header shows). */
export function stackWithoutHeader(stack, type, message) {
  const s = String(stack || "").replace(/\s+$/, "");
  const last = (type ? type + ": " : "") + (message || "");
  if (last && s.endsWith(last)) return s.slice(0, s.length - last.length).replace(/\s+$/, "");
  return s;
}

const DOC_CONTENT = ["page_content", "content", "text", "document", "doc", "chunk"];
const DOC_ID = ["id", "doc_id", "document_id", "uri", "source", "url"];
const DOC_SCORE = ["score", "relevance_score", "similarity", "distance"];

function pick(obj, keys) {
  for (const k of keys) if (obj && obj[k] !== undefined && obj[k] !== null && obj[k] !== "") return [k, obj[k]];
  return null;
}

/** Retriever output as documents [{content, id, score, metadata}], or null when it is not a
 *  list of documents (LangChain Documents, MLflow's {page_content, metadata, id}, dicts). */
export function asDocuments(value) {
  let list = value;
  if (list && !Array.isArray(list) && typeof list === "object") {
    const inner = list.documents || list.docs || list.results;
    if (Array.isArray(inner)) list = inner;
  }
  if (!Array.isArray(list) || !list.length) return null;
  const docs = [];
  for (const item of list.slice(0, 200)) {
    if (!item || typeof item !== "object" || Array.isArray(item)) return null;
    const content = pick(item, DOC_CONTENT);
    if (!content) return null;
    const meta = item.metadata && typeof item.metadata === "object" ? item.metadata : {};
    const id = pick(item, DOC_ID) || pick(meta, DOC_ID);
    const score = pick(item, DOC_SCORE) || pick(meta, DOC_SCORE);
    docs.push({
      content: typeof content[1] === "string" ? content[1] : JSON.stringify(content[1]),
      id: id ? String(id[1]) : null,
      score: score && typeof score[1] === "number" ? score[1] : null,
      metadata: meta,
    });
  }
  return docs;
}
