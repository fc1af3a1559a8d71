"""Trace replay with no CPU: trace.py reads traces, engine.py is the plain per-reference
loop, fast.py the compiled stack algorithms, core.py picks between them, command.py is
`pagelab replay`, bench.py its figures for `pagelab bench`. Kept import-light: numba loads
only when a replay runs."""
