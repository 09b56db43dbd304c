"""minik8s benchmarks: scripts that print figures, targets and ratios (not tests).

Run one as a script from the repository root, e.g. `python benchmarks/apiserver.py`;
see benchmarks/README.md for what each measures and prints.
"""
