"""Benchmarks of issue 2 point 8; run them with `make bench` (`.venv/bin/python bench/run.py [name]`)."""
