// The app-wide mime renderer extension (every output area; saved data only).

import { MIME_TYPE, RANK, rendererFactory } from "./renderer.js";

export default {
  id: "mlflow-trace-nb:mime",
  rendererFactory: rendererFactory(null),
  rank: RANK,
  dataType: "json",
  mimeTypes: [MIME_TYPE],
};
