"""Benchmarks: ``make bench`` measures the service against a bare FastAPI app (``run.py``)."""
