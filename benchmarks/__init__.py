"""Measured figures of okr-sync: each script prints its figures and records them in RESULTS.md.

Run one figure with `python -m benchmarks.<name>`, all of them with `python -m benchmarks.run_all`
(from the repository root). Every figure is a ratio against a reference measured in the same
run, because absolute times on a shared machine are noise.
"""
