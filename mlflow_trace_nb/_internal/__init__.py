"""The implementation. Nothing here is public API: the public names are listed in
``mlflow_trace_nb._public``.
"""
