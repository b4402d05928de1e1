"""Running one function over blocks of work in threads (numpy, scipy.special and the
compiled loops release the GIL). Each block writes its own slice of the output, so results
never depend on the number of threads."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


def default_workers() -> int:
    """One thread per CPU, at most 8."""
    return min(8, os.cpu_count() or 1)


def run_blocks(fn: Callable[[T], None], blocks: Iterable[T], workers: int | None = None) -> None:
    """fn(block) for every block, in ``workers`` threads (default: default_workers());
    in this thread when one is enough. An exception in any block is raised here."""
    blocks = list(blocks)
    workers = min(workers or default_workers(), len(blocks))
    if workers <= 1:
        for block in blocks:
            fn(block)
        return
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(fn, blocks))
