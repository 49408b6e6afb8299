import { test } from "node:test";
import assert from "node:assert/strict";

import { decodePayload } from "../view/model.js";
import { buildRows, reveal, rowIndex, TreeState } from "../view/rows.js";
import { agentTrace } from "./fixtures.js";

const one = () => decodePayload({ traces: [agentTrace()] }).traces;
const many = (n) => decodePayload({ traces: Array.from({ length: n }, (_, i) => agentTrace("t" + i)) }).traces;

test("one small trace opens fully; toggling the root hides its children", () => {
  const traces = one();
  const state = new TreeState();
  assert.deepEqual(buildRows(traces, state).map((r) => r.s), [0, 1, 2, 3]);
  state.toggle(traces[0], 0, 1, 4);
  assert.deepEqual(buildRows(traces, state).map((r) => r.s), [0]);
  state.toggle(traces[0], 0, 1, 4);
  assert.equal(buildRows(traces, state).length, 4);
});

test("several traces: a header row each, the first one open", () => {
  const traces = many(5);
  const rows = buildRows(traces, new TreeState());
  assert.equal(rows.filter((r) => r.s < 0).length, 5);
  assert.deepEqual(rows.slice(0, 5).map((r) => [r.t, r.s]), [[0, -1], [0, 0], [0, 1], [0, 2], [0, 3]]);
  assert.equal(rows.length, 5 + 4);
});

test("collapse all leaves the trace headers; expand all opens every span", () => {
  const traces = many(3);
  const state = new TreeState();
  state.setAll(0);
  assert.deepEqual(buildRows(traces, state).map((r) => r.s), [-1, -1, -1]);
  state.setAll(Infinity);
  assert.equal(buildRows(traces, state).length, 3 * 5);
});

test("a search filter keeps matching traces only, with their spans' ancestors", () => {
  const traces = many(3);
  const keep = [new Set(), new Set([0, 2]), new Set()];
  const rows = buildRows(traces, new TreeState(), keep);
  assert.deepEqual(rows.map((r) => [r.t, r.s]), [[1, -1], [1, 0], [1, 2]]);
});

test("expansion survives a re-decoded payload (state keyed by trace id)", () => {
  const state = new TreeState();
  let traces = one();
  state.toggle(traces[0], 0, 1, 4);
  traces = one();
  assert.equal(buildRows(traces, state).length, 1);
});

test("reveal opens the ancestors of a span", () => {
  const traces = many(4);
  const state = new TreeState();
  state.setAll(0);
  reveal(traces[2], 3, state);
  const rows = buildRows(traces, state);
  assert.ok(rowIndex(rows, 2, 3) > 0);
});
