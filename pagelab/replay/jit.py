"""numba's njit, imported only after its cache has been pointed at the user's cache
directory (pagelab/cachedir.py): the replay modules take njit from here."""

from pagelab.cachedir import use_for_numba

use_for_numba()

from numba import njit  # noqa: E402 - after use_for_numba, which numba's import reads

__all__ = ["njit"]
