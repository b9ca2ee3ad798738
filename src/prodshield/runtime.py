"""Process-wide settings for the long-running commands (``serve``, ``monitor run``).

glibc's allocator, left to its defaults, lets a long-lived multi-threaded Python service creep:
every thread that allocates may get its own arena (up to 8 per core), each fragmenting on its own,
and the mmap threshold rises after large blocks are freed, so later large buffers (HTTP bodies, log
chunks, query results) come from the heap and leave holes behind. ``tune_allocator`` pins both:
two arenas, a fixed 128 KiB mmap and trim threshold. Set ``PRODSHIELD_MALLOC=default`` to keep
glibc's defaults (for comparison, as ``benchmarks/soak.py --compare-malloc`` does).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8


def tune_allocator() -> bool:
    """Apply the allocator settings; return True when they were applied (glibc on Linux)."""
    if sys.platform != "linux" or os.environ.get("PRODSHIELD_MALLOC", "") == "default":
        return False
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and others have no mallopt
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    ok = mallopt(M_ARENA_MAX, 2) == 1
    ok = mallopt(M_MMAP_THRESHOLD, 128 * 1024) == 1 and ok
    ok = mallopt(M_TRIM_THRESHOLD, 128 * 1024) == 1 and ok
    return ok
