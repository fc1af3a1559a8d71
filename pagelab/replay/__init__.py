"""Trace replay with no CPU: trace.py reads traces, engine.py is the plain per-reference
loop, fast.py the compiled stack algorithms, core.py picks between them, command.py is
`pagelab replay`, bench.py its figures for `pagelab bench`. Kept import-light: numba loads
only when a replay runs."""

from pagelab.cachedir import use_for_numba

# Before any module of this package imports numba: their `cache=True` functions are cached
# in the user's cache directory, never in the installed package.
use_for_numba()

DEFAULT_TICK = 32  # references per sampling tick (NRU and aging clear A bits there)
