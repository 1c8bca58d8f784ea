"""Piko Orchestra's benchmark suite: `.venv/bin/python -m bench` (see docs/benchmarks.md)."""
