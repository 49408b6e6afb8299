import { test } from "node:test";
import assert from "node:assert/strict";

import { barGeometry, tickStep, ticks } from "../view/axis.js";
import { fmtDur, fmtInt, fmtTime, fmtTok, typeInfo } from "../view/format.js";

test("durations", () => {
  assert.equal(fmtDur(500), "0.50 ms");
  assert.equal(fmtDur(12_345), "12.3 ms");
  assert.equal(fmtDur(2_500_000), "2.50 s");
  assert.equal(fmtDur(125e6), "2m 5s");
  assert.equal(fmtDur(-1), "…");
  assert.equal(fmtDur(undefined), "…");
});

test("numbers, tokens, span types", () => {
  assert.equal(fmtInt(10001), "10,001");
  assert.equal(fmtTok(1234), "1.2k");
  assert.equal(fmtTok(2_500_000), "2.5M");
  assert.deepEqual(typeInfo("CHAT_MODEL"), ["CHAT", "llm"]);
  assert.deepEqual(typeInfo("custom_kind"), ["CUSTOM", "other"]);
});

test("absolute times (local) from nanoseconds", () => {
  const ns = new Date(2024, 0, 2, 3, 4, 5, 6).getTime() * 1e6;
  assert.equal(fmtTime(ns), "2024-01-02 03:04:05.006");
  assert.equal(fmtTime(ns, { date: false }), "03:04:05.006");
  assert.equal(fmtTime(0), "");
});

test("time axis: nice steps, ticks within the axis, bars clamped", () => {
  assert.equal(tickStep(1000, 5), 200);
  assert.equal(tickStep(7_300_000, 4), 2_000_000);
  const t = ticks(1000, 5);
  assert.deepEqual(t.map((x) => x.us), [0, 200, 400, 600, 800, 1000]);
  assert.ok(t.every((x) => x.pct >= 0 && x.pct <= 100));
  assert.deepEqual(barGeometry(0, 500, 1000), { left: 0, width: 50 });
  const g = barGeometry(990, 500, 1000);
  assert.ok(g.left + g.width <= 100.0001);
  assert.ok(barGeometry(0, 0, 1000).width > 0); // instant spans stay visible
});
