"""Exporters that ship traces to other engines, in the background.

- ``otel_mapping``: our spans as OpenTelemetry spans, with MLflow's and OpenInference's
  attribute conventions.
- ``_background``: the bounded send queue (batching, retry with backoff, drop counting,
  flush at exit) both remote exporters use.
- ``otlp``: any OTLP/HTTP trace endpoint (``OTLP`` destination).
- ``mlflow_server``: an MLflow tracking server (``MlflowExperiment`` destination).

Nothing here imports OpenTelemetry or ``requests`` until the first batch is sent.
"""
