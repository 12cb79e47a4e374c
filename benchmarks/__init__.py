"""Benchmarks at realistic scale.

Each runs as `python -m benchmarks.<name>` and writes benchmarks/results/<name>.json.
"""
