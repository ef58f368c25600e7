"""The benchmark scripts, run as modules from the repository root: `python -m benchmarks.inference ...`.

A package, so the scripts import each other (benchmarks.machine) and cvguard the same way everywhere,
with the checkout's root, not a script's folder, on sys.path.
"""
