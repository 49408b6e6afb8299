import { test } from "node:test";
import assert from "node:assert/strict";

import { decodePayload } from "../view/model.js";
import { highlightSegments, searchTraces, stepHit } from "../view/search.js";
import { agentTrace } from "./fixtures.js";

const traces = () => decodePayload({
  traces: [
    agentTrace("a", { details: { 1: { inputs: { j: { query: "Where is Zanzibar?" } } } } }),
    agentTrace("b"),
  ],
}).traces;

test("matches names, types, model names and saved details, in tree order", () => {
  const trs = traces();
  assert.deepEqual(searchTraces(trs, "CHAT").hits, [{ t: 0, s: 3 }, { t: 1, s: 3 }]);
  assert.deepEqual(searchTraces(trs, "gpt-4o").hits.map((h) => h.s), [3, 3]);
  const z = searchTraces(trs, "zanzibar");
  assert.deepEqual(z.hits, [{ t: 0, s: 1 }]);
  assert.equal(z.keep[1].size, 0); // trace b has no hit: hidden
  assert.deepEqual([...z.keep[0]].sort(), [0, 1]); // the hit and its ancestor
});

test("the kernel's content hits are merged in", () => {
  const res = searchTraces(traces(), "secret", { 1: [2] });
  assert.deepEqual(res.hits, [{ t: 1, s: 2 }]);
});

test("an empty query is no search", () => {
  assert.equal(searchTraces(traces(), "   "), null);
});

test("next / previous wrap around", () => {
  assert.equal(stepHit(-1, 3, 1), 0);
  assert.equal(stepHit(-1, 3, -1), 2);
  assert.equal(stepHit(2, 3, 1), 0);
  assert.equal(stepHit(0, 3, -1), 2);
  assert.equal(stepHit(0, 0, 1), -1);
});

test("highlight segments are case-insensitive and keep the original text", () => {
  assert.deepEqual(highlightSegments("Retrieve docs, retrieve", "RETR"), [
    { text: "Retr", hit: true }, { text: "ieve docs, ", hit: false },
    { text: "retr", hit: true }, { text: "ieve", hit: false },
  ]);
  assert.deepEqual(highlightSegments("abc", ""), [{ text: "abc", hit: false }]);
});
