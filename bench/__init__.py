"""Benchmarks: each bench_*.py module measures one thing and reports ratios taken within one run."""
