"""Observability: structured JSON logs, CloudWatch EMF metrics and tracing.

Each submodule is imported on first use; importing this package costs nothing.
"""
