"""Import numpy without OpenBLAS's thread pool.

warroom never calls BLAS (no linalg, dot or matmul), yet OpenBLAS starts a thread per core
when numpy loads: tens of milliseconds of a `warroom profile F --top` that takes ~0.1 s in
all (BENCHMARKS.md). A user's own OPENBLAS_NUM_THREADS is kept, and the variable is not left
in the environment that child processes (actions, the demo service) inherit.
"""

from __future__ import annotations

import os
import sys

_VAR = "OPENBLAS_NUM_THREADS"


def import_numpy() -> None:
    """Load numpy with one BLAS thread, unless it is loaded already or the user chose."""
    if "numpy" in sys.modules or _VAR in os.environ:
        return
    os.environ[_VAR] = "1"  # OpenBLAS reads it once, when its library is loaded
    try:
        import numpy  # noqa: F401
    finally:
        del os.environ[_VAR]
