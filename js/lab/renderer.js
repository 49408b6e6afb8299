// The JupyterLab / Notebook 7 renderer of the trace MIME type.
//
// A trace output carries three views: our MIME type (the payload, saved in the notebook), the
// anywidget view (application/vnd.jupyter.widget-view+json) and static text/html. This
// renderer ranks above the widget view, so it draws every trace output:
// - when the notebook's widget manager holds the widget model named in the bundle (the kernel
//   that made the traces is running), it shows that live widget: kernel requests (details,
//   full values, content search) and live updates go through it;
// - otherwise (a reopened notebook, a fresh kernel, no kernel) it draws the saved payload.
// Bundle updates (update_display_data) re-render in place, keeping expansion and selection.

import { Widget } from "@lumino/widgets";

import { createView } from "../view/view.js";

export const MIME_TYPE = "application/vnd.mlflow-trace-nb.v1+json";
export const WIDGET_MIME = "application/vnd.jupyter.widget-view+json";
const MANAGER_WAIT_MS = 3000; // for a kernel's widgets to be restored
const PROBE_WAIT_MS = 300; // for the notebook's widget manager

const wait = (ms) => new Promise((resolve) => setTimeout(() => resolve(null), ms));

/** The ipywidgets manager of a notebook's rendermime, or null (none within the wait). */
async function widgetManager(rendermime) {
  if (!rendermime || !rendermime.mimeTypes || !rendermime.mimeTypes.includes(WIDGET_MIME)) return null;
  let probe;
  try {
    probe = rendermime.createRenderer(WIDGET_MIME);
  } catch (e) {
    return null;
  }
  const delegate = probe && probe._manager;
  const manager = delegate && delegate.promise ? await Promise.race([delegate.promise, wait(PROBE_WAIT_MS)]) : null;
  try { probe.dispose(); } catch (e) { /* ignore */ }
  return manager && typeof manager.has_model === "function" ? manager : null;
}

/** Does `manager` hold widget model `id` (waiting for its restore from the kernel)? */
async function hasModel(manager, id) {
  if (manager.has_model(id)) return true;
  if (manager.restoredStatus || !manager.restored) return false;
  await new Promise((resolve) => {
    const done = () => { manager.restored.disconnect(done); resolve(null); };
    manager.restored.connect(done);
    setTimeout(done, MANAGER_WAIT_MS);
  });
  return manager.has_model(id);
}

export class TraceRenderer extends Widget {
  constructor(options, rendermime = null) {
    super();
    this.addClass("mtn-renderer");
    this._mimeType = options.mimeType;
    this._rendermime = rendermime;
    this._view = null;
    this._liveId = null;
    this._live = null;
  }

  async renderModel(model) {
    const started = performance.now();
    const payload = model.data[this._mimeType];
    const ref = model.data[WIDGET_MIME];
    const modelId = ref && typeof ref === "object" ? ref.model_id : null;
    if (modelId && modelId === this._liveId) return; // the live widget updates itself
    const manager = modelId && this._rendermime ? await widgetManager(this._rendermime) : null;
    if (manager && manager.has_model(modelId) && (await this._tryLive(model, modelId))) return;
    this._showSaved(payload);
    this.node.dataset.drawMs = String(Math.round(performance.now() - started));
    // time to first paint of the saved view, for benchmarks/bench_saved_view.py
    requestAnimationFrame(() => requestAnimationFrame(() => {
      this.node.dataset.paintMs = String(Math.round(performance.now() - started));
    }));
    // the kernel's widgets may still be restoring (a reloaded page, same kernel)
    if (manager && !manager.restoredStatus && (await hasModel(manager, modelId)) && !this.isDisposed) {
      await this._tryLive(model, modelId);
    }
  }

  async _tryLive(model, modelId) {
    try {
      await this._showLive(model, modelId);
      return true;
    } catch (e) {
      console.warn("mlflow-trace-nb: live widget unavailable, showing saved data", e);
      return false;
    }
  }

  async _showLive(model, modelId) {
    const live = this._rendermime.createRenderer(WIDGET_MIME);
    await live.renderModel(model.data[WIDGET_MIME] ? { data: { [WIDGET_MIME]: model.data[WIDGET_MIME] }, metadata: {}, trusted: true, setData() {} } : model);
    if (this._view) { this._view.destroy(); this._view = null; }
    this.node.replaceChildren();
    Widget.attach(live, this.node);
    this._live = live;
    this._liveId = modelId;
  }

  _showSaved(payload) {
    if (this._live) { this._live.dispose(); this._live = null; this._liveId = null; }
    if (!this._view) this._view = createView(this.node, { request: null });
    const data = payload && typeof payload === "object" ? Object.assign({ saved: true }, payload) : payload;
    this._view.update(data);
  }

  dispose() {
    if (this.isDisposed) return;
    if (this._view) this._view.destroy();
    if (this._live) this._live.dispose();
    this._view = null;
    this._live = null;
    super.dispose();
  }
}

/** A renderer factory (rank RANK, safe: the view writes text only). */
export function rendererFactory(rendermime = null) {
  return {
    safe: true,
    mimeTypes: [MIME_TYPE],
    defaultRank: RANK,
    createRenderer: (options) => new TraceRenderer(options, rendermime),
  };
}

// Lower ranks win; ipywidgets registers the widget view at -10.
export const RANK = -20;
