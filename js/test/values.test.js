import { test } from "node:test";
import assert from "node:assert/strict";

import { asDocuments, classify, cleanStack, foldText, parseJsonString, stackWithoutHeader } from "../view/values.js";

test("strings holding JSON read as JSON; other strings do not", () => {
  assert.deepEqual(parseJsonString(' {"a": [1, 2]} '), { a: [1, 2] });
  assert.equal(parseJsonString("{not json}"), undefined);
  assert.equal(parseJsonString("42"), undefined);
  assert.equal(classify('{"a": 1}').kind, "json");
  assert.equal(classify("line one\nline two").kind, "text");
  assert.equal(classify("short").kind, "scalar");
  assert.equal(classify(null).kind, "scalar");
});

test("folding cuts at a line budget or a character budget", () => {
  const lines = Array.from({ length: 20 }, (_, i) => "line " + i).join("\n");
  const f = foldText(lines, 10_000, 8);
  assert.equal(f.head.split("\n").length, 8);
  assert.equal(f.hidden, lines.length - f.head.length);
  assert.deepEqual(foldText("short"), { head: "short", hidden: 0 });
  assert.equal(foldText("x".repeat(5000), 600).head.length, 600);
});

test("stack traces lose this library's frames and the repeated exception line", () => {
  const stack = [
    "Traceback (most recent call last):",
    '  File "/site-packages/mlflow_trace_nb/decorator.py", line 120, in wrapper',
    "    result = fn(*args, **kwargs)",
    '  File "/home/me/agent.py", line 5, in tool',
    "    raise ValueError('bad')",
    "ValueError: bad",
  ].join("\n");
  const cleaned = cleanStack(stackWithoutHeader(stack, "ValueError", "bad"));
  assert.equal(cleaned.hidden, 1);
  assert.ok(!cleaned.text.includes("mlflow_trace_nb"));
  assert.ok(cleaned.text.includes("agent.py"));
  assert.ok(!cleaned.text.includes("ValueError: bad"));
});

test("retriever outputs become documents with content, id and score", () => {
  const docs = asDocuments([
    { page_content: "Paris is in France", metadata: { source: "wiki/paris", score: 0.91 } },
    { id: "d2", text: "Berlin", score: 0.5 },
  ]);
  assert.deepEqual(docs.map((d) => [d.content, d.id, d.score]), [
    ["Paris is in France", "wiki/paris", 0.91], ["Berlin", "d2", 0.5],
  ]);
  assert.equal(asDocuments([{ foo: 1 }]), null);
  assert.equal(asDocuments("text"), null);
  assert.equal(asDocuments({ documents: [{ content: "x" }] }).length, 1);
});
