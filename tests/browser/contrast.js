// Every visible text element of the view: contrast of its colour against the first opaque
// background behind it (WCAG 2 formula), and its font size. Evaluated by test_view_page.py.
(() => {
  // "rgb(r, g, b)", "rgba(r, g, b, a)" or, for color-mix(), "color(srgb r g b / a)" (0..1)
  const parse = (c) => {
    const m = (c.match(/[\d.]+(e-?\d+)?/g) || []).map(Number);
    if (!m.length) return [0, 0, 0, 0];
    if (c.startsWith("color(")) return [m[0] * 255, m[1] * 255, m[2] * 255, m.length > 3 ? m[3] : 1];
    return m;
  };
  const lum = ([r, g, b]) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }; return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const blend = (fg, bg) => { const a = fg.length > 3 ? fg[3] : 1; return [0,1,2].map((i) => fg[i] * a + bg[i] * (1 - a)); };
  const bgOf = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if ((c.length > 3 ? c[3] : 1) > 0) layers.push(c);
      if ((c.length > 3 ? c[3] : 1) >= 1) break;
    }
    let bg = [255, 255, 255];
    const body = parse(getComputedStyle(document.body).backgroundColor);
    if ((body.length > 3 ? body[3] : 1) > 0) bg = body.slice(0, 3);
    for (let i = layers.length - 1; i >= 0; i--) bg = blend(layers[i], bg);
    return bg;
  };
  const bad = [];
  const small = [];
  for (const el of document.querySelectorAll('.tv-root *')) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || !el.getClientRects().length) continue;
    const st = getComputedStyle(el);
    if (st.visibility === 'hidden') continue;
    if (parseFloat(st.fontSize) < 11) small.push(el.className + ' ' + st.fontSize);
    const bg = bgOf(el);
    const fg = blend(parse(st.color), bg);
    const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
    const ratio = (a + 0.05) / (b + 0.05);
    if (ratio < 4.5) bad.push(el.className + ' "' + el.textContent.slice(0, 30) + '" ' + ratio.toFixed(2));
  }
  return {bad, small};
})
