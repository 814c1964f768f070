"""Layer pairs scored on several threads of one process, sharing the prepared layers.

Two cores run two layer pairs at once, each on one thread, faster than one pair at a time on
two threads: most of a pair's work is products of a few hundred columns, too small for a BLAS
call to keep two cores busy (on the benchmark of ``benchmarks/bench_grid.py``, for linear, two
threads took about 0.7 of one thread's time one pair at a time, 0.55 two pairs at a time).

The pairs share the layers' prepared state, computed on first use (:class:`computed_once`) and,
for the ridge factors, refined while penalties are chosen (under the factors' own lock).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import cached_property
from typing import Any

import torch
from tqdm.auto import tqdm

_LOCKS = threading.Lock()  # guards the creation of the per-attribute locks only


class computed_once(cached_property):  # noqa: N801 (a decorator, named as functools' is)
    """:func:`functools.cached_property` that is computed once even when several threads ask
    for it at the same time.

    Each instance and attribute has its own lock, held only while that attribute is computed.
    A computation takes the locks of the attributes it reads, and those read theirs; as no
    attribute depends on itself, the locks are always taken along the same acyclic graph, so
    two threads never wait on each other."""

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        cache = instance.__dict__
        if self.attrname in cache:
            return cache[self.attrname]
        with _LOCKS:
            lock = cache.setdefault("_computed_once_locks", {}).setdefault(
                self.attrname, threading.Lock())
        with lock:
            if self.attrname not in cache:
                cache[self.attrname] = self.func(instance)
        return cache[self.attrname]


def pair_workers(device: torch.device, workers: int | None) -> int:
    """How many pairs run at once: ``workers``, or by default one per torch thread on the CPU
    and one on a GPU (whose kernels already fill it)."""
    if workers is not None:
        return max(1, int(workers))
    return torch.get_num_threads() if device.type == "cpu" else 1


@contextmanager
def _one_thread_each():
    """Torch and its BLAS on one thread per pair while pairs run side by side."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def ordered_map(work: Callable[[Any], Any], items: Sequence[Any], workers: int,
                progress: bool = False, desc: str = "") -> list[Any]:
    """``[work(item) for item in items]`` on ``workers`` threads (each with one torch thread).
    Items start in order, so what the first items prepare is ready for the later ones. The
    first error is raised once the running items end; items not started by then never are."""
    results: list[Any] = []
    with tqdm(total=len(items), desc=desc, disable=not progress, leave=False) as bar:
        if workers <= 1:
            for item in items:
                results.append(work(item))
                bar.update()
            return results
        with _one_thread_each(), ThreadPoolExecutor(workers) as pool:
            futures = [pool.submit(work, item) for item in items]
            try:
                for future in futures:
                    results.append(future.result())
                    bar.update()
            finally:
                for future in futures:
                    future.cancel()
    return results
