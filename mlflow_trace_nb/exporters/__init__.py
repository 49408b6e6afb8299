"""Exporters that ship traces to other engines (OTLP, MLflow tracking servers)."""
