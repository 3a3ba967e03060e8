"""Benchmarks run with pytest-benchmark; `make bench-record` writes docs/benchmarks.md."""
