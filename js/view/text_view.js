// Folded text and the JSON viewer (lazy: children are built when a node is opened).

import { h } from "./dom.js";
import { fmtInt } from "./format.js";
import { classify, foldText } from "./values.js";

const JSON_OPEN_DEPTH = 3;
const JSON_CHUNK = 200;

/** Text folded to a few lines, with "Show all" / "Show less" in place. */
export function foldedText(text, cls = "tv-text", opts = {}) {
  const s = String(text);
  const box = h("div", cls);
  const { head, hidden } = foldText(s, opts.maxChars, opts.maxLines);
  if (!hidden || opts.open) { box.textContent = s; return box; }
  const body = h("span", "tv-fold-body", head + "…");
  const btn = h("button", "tv-link tv-fold", "Show all (" + fmtInt(hidden) + " more chars)");
  btn.type = "button";
  let open = false;
  btn.addEventListener("click", (ev) => {
    ev.stopPropagation();
    open = !open;
    body.textContent = open ? s : head + "…";
    btn.textContent = open ? "Show less" : "Show all (" + fmtInt(hidden) + " more chars)";
  });
  box.append(body, h("br"), btn);
  box.classList.add("tv-folded");
  return box;
}

function scalar(value) {
  if (value === null) return h("span", "tv-j-null", "null");
  if (typeof value === "string") return h("span", "tv-j-str", "\u201c" + value + "\u201d");
  if (typeof value === "number") return h("span", "tv-j-num", String(value));
  if (typeof value === "boolean") return h("span", "tv-j-bool", String(value));
  return h("span", "tv-j-str", String(value));
}

function valueLeaf(value, depth) {
  const c = classify(value);
  if (c.kind === "text") return foldedText(c.value, "tv-j-text", { maxLines: 6 });
  if (c.kind === "json") {
    const wrap = h("span", "tv-j-inner");
    wrap.append(h("span", "tv-j-note", "JSON string"), jsonNode(null, c.value, depth + 1));
    return wrap;
  }
  return scalar(value);
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
    const leaf = valueLeaf(value, depth);
    if (leaf.tagName === "DIV" || leaf.classList.contains("tv-j-inner")) { node.classList.add("tv-j-block"); node.append(leaf); }
    else line.append(leaf);
    return node;
  }
  const isArr = Array.isArray(value);
  const keys = isArr ? null : Object.keys(value);
  const size = isArr ? value.length : keys.length;
  const tog = h("span", "tv-j-tog", size ? "▸" : "");
  line.append(tog);
  if (keyEl) line.append(keyEl);
  line.append(h("span", "tv-j-sum", isArr ? "[" + size + "]" : "{" + size + "}"));
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
      more.type = "button";
      more.addEventListener("click", (ev) => { ev.stopPropagation(); more.remove(); fill(end); });
      body.append(more);
    }
  };
  const setOpen = (v) => {
    open = v;
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

/** A value as it reads best: JSON tree, folded text, or a scalar. */
export function jsonView(value) {
  const root = h("div", "tv-json");
  const c = classify(value);
  if (c.kind === "text") { root.append(foldedText(c.value, "tv-pre tv-text")); return root; }
  if (c.kind === "scalar") { root.append(scalar(value)); return root; }
  const v = c.value;
  if (c.fromString) root.append(h("div", "tv-j-note", "JSON string"));
  if (!Array.isArray(v)) {
    const keys = Object.keys(v);
    if (!keys.length) root.append(h("span", "tv-muted", "{}"));
    for (const k of keys.slice(0, JSON_CHUNK)) root.append(jsonNode(k, v[k], 1));
    if (keys.length > JSON_CHUNK) {
      const rest = {};
      for (const k of keys.slice(JSON_CHUNK)) rest[k] = v[k];
      root.append(jsonNode("…", rest, 1));
    }
  } else {
    root.append(jsonNode(null, v, 0));
  }
  return root;
}
