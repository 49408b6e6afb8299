// DOM helpers. Security: every string from a span is untrusted; it is only ever written with
// textContent / createTextNode. No innerHTML, insertAdjacentHTML, eval or links from span data.

/** A new element with a class and text content. */
export function h(tag, cls, text) {
  const el = document.createElement(tag);
  if (cls) el.className = cls;
  if (text !== undefined && text !== null) el.textContent = String(text);
  return el;
}

/** Put `text` on the clipboard (Clipboard API, else a hidden textarea). */
export async function copyText(text) {
  const s = String(text);
  try {
    if (navigator.clipboard && window.isSecureContext) { await navigator.clipboard.writeText(s); return true; }
  } catch (e) { /* fall back */ }
  const area = document.createElement("textarea");
  area.value = s;
  area.setAttribute("readonly", "");
  area.style.position = "fixed";
  area.style.opacity = "0";
  document.body.append(area);
  area.select();
  let ok = false;
  try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
  area.remove();
  return ok;
}

/** A small "Copy" button; `get` returns the text to copy (called on click). */
export function copyButton(get, label = "Copy", title = "Copy to clipboard") {
  const btn = h("button", "tv-copy", label);
  btn.type = "button";
  btn.title = title;
  btn.setAttribute("aria-label", title);
  btn.addEventListener("click", async (ev) => {
    ev.stopPropagation();
    let text;
    try { text = get(); } catch (e) { text = ""; }
    const ok = await copyText(text);
    btn.dataset.copied = String(text).slice(0, 200000);
    btn.textContent = ok ? "Copied" : "Copy failed";
    setTimeout(() => { btn.textContent = label; }, 1200);
  });
  return btn;
}

/** Text with the occurrences of `q` wrapped in <mark> elements (text nodes only). */
export function highlighted(segments) {
  const frag = document.createDocumentFragment();
  for (const seg of segments) {
    if (seg.hit) frag.append(h("mark", "tv-hit", seg.text));
    else frag.append(document.createTextNode(seg.text));
  }
  return frag;
}
