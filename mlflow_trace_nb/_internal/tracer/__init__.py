"""Span lifecycle: decorator, live spans, context, capture, ids and leak handling."""
