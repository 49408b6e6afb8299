import { test } from "node:test";
import assert from "node:assert/strict";

import { decodePayload, longestTrace, spanInfo } from "../view/model.js";
import { agentTrace, traceEntry } from "./fixtures.js";

test("decodes children, depth, subtree tokens and errors", () => {
  const { traces } = decodePayload({ traces: [agentTrace()], more: 2 });
  const tr = traces[0];
  assert.deepEqual(tr.roots, [0]);
  assert.deepEqual(tr.children[0], [1, 2, 3]);
  assert.deepEqual(Array.from(tr.depth), [0, 1, 1, 1]);
  assert.equal(tr.sub[0 * 3 + 2], 150); // the chat span's tokens summed into the root
  assert.equal(tr.subErr[0], 1); // the tool's error marks its ancestor
  assert.equal(tr.errors, 1);
  assert.equal(tr.models.get(3), "gpt-4o-mini");
  assert.deepEqual(spanInfo(tr, 2), { name: "tool", type: "TOOL", status: "ERROR" });
});

test("accepts JSON text, bad JSON and junk without throwing", () => {
  assert.equal(decodePayload(JSON.stringify({ traces: [agentTrace()] })).traces.length, 1);
  assert.deepEqual(decodePayload("{not json").traces, []);
  assert.deepEqual(decodePayload(null).traces, []);
  assert.deepEqual(decodePayload({ traces: "x" }).traces, []);
});

test("a parent cycle still yields every span once", () => {
  const raw = traceEntry("c", [["a", "CHAIN", "OK", 1, 0, 1], ["b", "CHAIN", "OK", 0, 0, 1]]);
  const tr = decodePayload({ traces: [raw] }).traces[0];
  assert.equal(new Set(tr.order).size, 2);
});

test("a 10,000-deep chain decodes without recursion", () => {
  const spans = [];
  for (let i = 0; i < 10000; i++) spans.push(["s" + i, "CHAIN", "OK", i - 1, i, 1]);
  const tr = decodePayload({ traces: [traceEntry("deep", spans)] }).traces[0];
  assert.equal(tr.depth[9999], 9999);
});

test("the longest trace sets the list's time scale", () => {
  const { traces } = decodePayload({ traces: [agentTrace("a", { total_us: 10 }), agentTrace("b", { total_us: 5000 })] });
  assert.equal(longestTrace(traces), 5000);
});
