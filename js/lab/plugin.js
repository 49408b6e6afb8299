// JupyterLab 4 / Notebook 7 extension: the trace renderer per notebook, where it can reach the
// notebook's widget manager (hence the live widget). mime.js registers it app-wide.

import { RANK, rendererFactory } from "./renderer.js";

const plugin = {
  id: "mlflow-trace-nb:renderer",
  description: "Interactive trace view for mlflow-trace-nb outputs, live or saved.",
  autoStart: true,
  activate: (app) => {
    // Per notebook: the notebook's own rendermime, so the renderer can find its widgets.
    app.docRegistry.addWidgetExtension("Notebook", {
      createNew: (panel) => {
        const rendermime = panel.content && panel.content.rendermime;
        if (rendermime && rendermime.addFactory) rendermime.addFactory(rendererFactory(rendermime), RANK);
      },
    });
  },
};

export default [plugin];
