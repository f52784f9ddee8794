"""Benchmarks: ``python -m bench NAME [options]`` (see ``python -m bench --list``).

Benchmarks measure; tests check behaviour. Each prints its figure beside a baseline
measured in the same run, and results go to bench/RESULTS.md with the command used.
They need PostgreSQL: set DATABASE_URL (the default is postgres://postgres@127.0.0.1/storefront_bench).
"""
