// anywidget entry: the trace view bound to a TraceWidget model (payload trait + custom messages).

import { createView } from "./view/view.js";

const TIMEOUT_MS = 15000;

function render({ model, el }) {
  const pending = new Map();
  let seq = 0;
  const request = (msg, onReply, onFail) => {
    const id = ++seq;
    pending.set(id, onReply);
    try {
      model.send(Object.assign({ seq: id }, msg));
    } catch (e) {
      pending.delete(id);
      if (onFail) onFail();
      return;
    }
    setTimeout(() => { if (pending.has(id)) { pending.delete(id); if (onFail) onFail(); } }, TIMEOUT_MS);
  };
  const onMsg = (msg) => {
    if (!msg || typeof msg !== "object") return;
    const cb = pending.get(msg.seq);
    if (cb) { pending.delete(msg.seq); cb(msg); }
  };
  model.on("msg:custom", onMsg);
  const view = createView(el, { request });
  const onPayload = () => view.update(model.get("payload"));
  model.on("change:payload", onPayload);
  onPayload();
  return () => {
    model.off("change:payload", onPayload);
    model.off("msg:custom", onMsg);
    view.destroy();
  };
}

export default { render };
