"""Compiled functions cached on disk under a key of every source compiled into them.

numba stamps a cached function with its own file's modification time and size only. The
backtest's account inlines the cost model (``trading/costs.py``) and the router's solver
(``trading/waterfill.py``) from other files, so after an upgrade that changed only those files
numba would load the old machine code: old costs without a word, or a crash when a signature
changed (seen here: a segfault in the test suite after the solver's signature changed). The
name numba files the cache under carries a digest of those sources instead, so each version of
the code has its own cache entry, also while an older process is still writing its own.
"""

from __future__ import annotations

import functools
import hashlib
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

_ROOT = Path(__file__).resolve().parents[1]
# Every file whose functions are compiled into the account (directly or inlined).
_SOURCES = ("backtest/account.py", "costs.py", "routesplit.py", "waterfill.py")


@functools.cache
def source_digest() -> str:
    """A short digest of the sources compiled into the account."""
    digest = hashlib.sha256()
    for name in _SOURCES:
        digest.update(name.encode())
        digest.update((_ROOT / name).read_bytes())
    return digest.hexdigest()[:16]


def compiled(function: Callable[..., Any]) -> Any:
    """``numba.njit(cache=True, nogil=True)`` of a copy of ``function`` whose cache entry is
    named by ``source_digest`` (the original function is left as it is)."""
    import numba

    copy = types.FunctionType(
        function.__code__,
        function.__globals__,
        function.__name__,
        function.__defaults__,
        function.__closure__,
    )
    copy.__qualname__ = f"{function.__qualname__}_{source_digest()}"
    copy.__module__ = function.__module__
    copy.__doc__ = function.__doc__
    return numba.njit(cache=True, nogil=True)(copy)
