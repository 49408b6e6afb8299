import { test } from "node:test";
import assert from "node:assert/strict";

import { compareRows, signed } from "../view/compare_view.js";

test("signed deltas", () => {
  assert.equal(signed(12.34, " ms"), "+12.3 ms");
  assert.equal(signed(-3, "", 0), "−3");
  assert.equal(signed(0, " ms"), "±0 ms");
  assert.equal(signed(null), "?");
  assert.equal(signed(undefined), "?");
  assert.equal(signed(0.00012, " USD", 4), "+0.00012 USD");
  assert.equal(signed(1500, "", 0), "+1,500");
});

test("rows: changed paths counted, odd values made safe, long lists capped", () => {
  const result = {
    spans: [
      { path: "agent", depth: 0, name: "agent", status_a: "OK", status_b: "OK", inputs_changed: false, outputs_changed: true, outputs_diff: "-a\n+b" },
      { path: "agent/tool[0]", depth: 1, name: "<img src=x onerror=1>", only_in: "b", status_a: null, status_b: "ERROR" },
      { path: "agent/llm[0]", depth: 1, name: "llm", status_a: "OK", status_b: "OK", inputs_diff: 5 },
    ],
  };
  const { rows, hidden, changed } = compareRows(result);
  assert.equal(rows.length, 3);
  assert.equal(hidden, 0);
  assert.equal(changed, 2);
  assert.equal(rows[1].onlyIn, "b");
  assert.equal(rows[1].name, "<img src=x onerror=1>"); // text, drawn with textContent
  assert.equal(rows[2].inputsDiff, null); // a non-string diff is not drawn
  assert.equal(rows[0].outputsDiff, "-a\n+b");
  const many = { spans: Array.from({ length: 450 }, (_, i) => ({ path: "p" + i, name: "s" })) };
  const capped = compareRows(many);
  assert.equal(capped.rows.length, 300);
  assert.equal(capped.hidden, 150);
  assert.deepEqual(compareRows(null), { rows: [], hidden: 0, changed: 0 });
  assert.deepEqual(compareRows({ spans: "x" }), { rows: [], hidden: 0, changed: 0 });
});
