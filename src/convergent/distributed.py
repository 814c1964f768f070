"""A large layer grid split into blocks and run as one submitit job array, outside Snakemake.

For activations a user already has: :func:`grid_in_blocks` splits the x layers of a grid into
contiguous blocks, submits one job per block that is not done yet as a single job array (SLURM,
or local processes with submitit's local executor), waits, and merges the blocks in order. The
result equals :func:`convergent.metrics.grid` on the whole grid, row for row.

Blocks are written atomically under ``work_dir/<key>/``, where the key hashes the settings and
the two files' identity (path, size, modification time), so a rerun after a failure or a
cancelled job submits only the blocks still missing, and a rerun with other settings never
reuses a stale block. The block folder is removed once the merged table is returned; the jobs'
logs stay in ``work_dir/logs/<key>/``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from .errors import ConvergentError, InputError
from .io import check_same_stimuli, read_layer_shapes, read_pair, write_table

EXECUTORS = ("local", "slurm")
#: How long a SLURM job may be gone from the queue without a result before it counts as failed
#: (the result file can lag behind the queue on a shared file system).
RESULT_GRACE_S = 60.0


@dataclass(frozen=True)
class GridSpec:
    """What to score: two activation files and the engine's settings."""

    a: str
    b: str
    metrics: tuple[str, ...] = ("procrustes",)
    pairs: str = "all"
    folds: int = 5
    seed: int = 0
    corr: str = "pearson"
    rotate: int | None = None
    device: str | None = None
    dtype: str | None = None
    null: int = 0
    null_seed: int = 0
    rotations: int = 1
    null_metrics: tuple[str, ...] | None = None
    subset: int | None = None
    subset_seed: int = 0

    def key(self) -> str:
        """A hash of the settings and of both files' identity."""
        files = [(str(Path(p).resolve()), os.stat(p).st_size, os.stat(p).st_mtime_ns)
                 for p in (self.a, self.b)]
        text = json.dumps({**asdict(self), "files": files}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class ClusterOptions:
    """Per-block job resources (SLURM only; the local executor ignores them)."""

    partition: str | None = None
    account: str | None = None
    gpus: int = 1
    cpus: int = 2
    mem_gb: float = 16
    timeout_min: int = 60
    parallelism: int = 256
    extra: dict = field(default_factory=dict)


def plan_blocks(n_x: int, blocks: int) -> list[tuple[int, int]]:
    """``blocks`` contiguous, near-equal ranges of the x layer indices (at most one per layer)."""
    blocks = max(1, min(blocks, n_x))
    size = math.ceil(n_x / blocks)
    return [(start, min(start + size, n_x)) for start in range(0, n_x, size)]


def run_block(spec: GridSpec, block: tuple[int, int], path: str) -> str | None:
    """One job of the array: score the block's layer pairs and write them to ``path``.

    Returns None on success, or the one-line message of a user error (bad activations, a
    transport plan that did not converge), which the driver reports as its own.
    """
    from .metrics import grid

    try:
        layers_a, layers_b = read_pair(spec.a, spec.b, spec.subset, spec.subset_seed)
        table = grid(layers_a, layers_b, metrics=spec.metrics, pairs=spec.pairs, folds=spec.folds,
                     seed=spec.seed, corr=spec.corr, rotate=spec.rotate, device=spec.device,
                     dtype=spec.dtype, names=(spec.a, spec.b), block=block, null=spec.null,
                     null_seed=spec.null_seed, rotations=spec.rotations,
                     null_metrics=spec.null_metrics)
    except ConvergentError as err:
        return str(err)
    write_table(table, path)
    return None


def check_grid_spec(spec: GridSpec) -> int:
    """Check the settings, and the files as far as their headers tell, before any job starts;
    returns the x layer count."""
    from .metrics.engine import check_metrics, check_pairs, check_tests
    from .metrics.layer import check_settings

    check_metrics(spec.metrics, spec.rotate)
    check_tests(spec.null, spec.rotations, spec.rotate, spec.null_metrics)
    check_settings(spec.folds, spec.corr)
    if spec.rotate is not None and "permutation" not in spec.metrics:
        raise InputError("rotate needs permutation among the metrics")
    shapes_a, ids_a = read_layer_shapes(spec.a)
    shapes_b, ids_b = read_layer_shapes(spec.b)
    check_same_stimuli(ids_a, ids_b, spec.a, spec.b)
    check_pairs(spec.pairs, len(shapes_a), len(shapes_b), (spec.a, spec.b))
    return len(shapes_a)


def grid_in_blocks(spec: GridSpec, executor: str = "local", blocks: int | None = None,
                   work_dir: str | os.PathLike | None = None,
                   cluster: ClusterOptions | None = None, poll_s: float = 2.0) -> pd.DataFrame:
    """Score ``spec``'s grid as a job array of blocks and return the merged table.

    Parameters
    ----------
    spec : GridSpec
    executor : {"local", "slurm"}
        submitit's local executor (processes on this machine) or SLURM.
    blocks : int, optional
        Number of blocks (jobs); default one per x layer on SLURM, one per CPU locally.
    work_dir : path, optional
        Where blocks and job logs go (default ``./convergent-blocks``).
    cluster : ClusterOptions, optional
        Partition, account, GPUs, CPUs, memory and time limit of each SLURM job.
    poll_s : float
        Seconds between two looks at the jobs.

    Returns
    -------
    pandas.DataFrame
        The same table as :func:`convergent.metrics.grid` on the whole grid.
    """
    if executor not in EXECUTORS:
        raise InputError(f"executor must be one of {', '.join(EXECUTORS)}, got {executor!r}")
    n_x = check_grid_spec(spec)
    if blocks is not None and blocks < 1:
        raise InputError(f"blocks must be at least 1, got {blocks}")
    default = n_x if executor == "slurm" else (os.cpu_count() or 1)
    ranges = plan_blocks(n_x, blocks or default)
    work = Path(work_dir or "convergent-blocks")
    folder = work / spec.key()
    paths = [folder / f"block{k:04d}.parquet" for k in range(len(ranges))]
    todo = [k for k, path in enumerate(paths) if not path.exists()]
    if todo:
        _run_array(spec, [ranges[k] for k in todo], [paths[k] for k in todo], executor,
                   work / "logs" / spec.key(), cluster or ClusterOptions(), poll_s)
    table = pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True)
    shutil.rmtree(folder, ignore_errors=True)
    return table


def _executor(kind: str, folder: Path, cluster: ClusterOptions):
    import submitit

    executor = submitit.AutoExecutor(folder=folder, cluster=kind)
    executor.update_parameters(name="convergent-grid", timeout_min=cluster.timeout_min)
    if kind == "slurm":
        extra = dict(cluster.extra)
        if cluster.account:
            extra["account"] = cluster.account
        executor.update_parameters(
            slurm_partition=cluster.partition, gpus_per_node=cluster.gpus or None,
            cpus_per_task=cluster.cpus, mem_gb=cluster.mem_gb,
            slurm_array_parallelism=cluster.parallelism, slurm_additional_parameters=extra)
    return executor


def _run_array(spec, ranges, paths, kind, folder, cluster, poll_s) -> None:
    """Submit the blocks as one array job and wait for every one of them."""
    executor = _executor(kind, folder, cluster)
    jobs = executor.map_array(run_block, [spec] * len(ranges), ranges, [str(p) for p in paths])
    failures = _wait(dict(zip(ranges, jobs, strict=True)), kind, poll_s)
    if failures:
        block, message = failures[0]
        more = f" ({len(failures) - 1} more blocks failed)" if len(failures) > 1 else ""
        raise ConvergentError(f"block {block}: {message}{more}")


def _wait(jobs: dict, kind: str, poll_s: float) -> list[tuple[tuple[int, int], str]]:
    """Wait for every job (block → job); returns (block, message) for those that failed.

    submitit learns a SLURM job's fate from ``sacct``; where accounting is off, a job that left
    the queue without writing its result (cancelled, killed, out of time) is found through
    ``squeue`` instead of being waited for forever.
    """
    pending = dict(jobs)
    gone_since: dict[tuple[int, int], float] = {}
    failures = []
    while pending:
        queued = _queued_ids([j.job_id for j in pending.values()]) if kind == "slurm" else None
        for block, job in list(pending.items()):
            if job.done():
                message = _outcome(job)
            elif queued is not None and job.job_id not in queued:
                first = gone_since.setdefault(block, time.monotonic())
                if time.monotonic() - first < RESULT_GRACE_S:
                    continue
                message = (f"SLURM job {job.job_id} left the queue without a result "
                           f"(cancelled, killed or out of time); log: {job.paths.stderr}")
            else:
                continue
            del pending[block]
            if message is not None:
                failures.append((block, message))
        if pending:
            time.sleep(poll_s)
    return sorted(failures)


def _outcome(job) -> str | None:
    """None when the block was written, else why it was not."""
    try:
        return job.result()
    except Exception as err:  # the job crashed or was killed: name its log, not a traceback
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        return f"job {job.job_id} failed ({first}); log: {job.paths.stderr}"


def _queued_ids(job_ids: list[str]) -> set[str] | None:
    """The given SLURM job ids (``<array>_<task>``) still pending or running, or None when
    squeue cannot tell."""
    arrays = sorted({j.split("_")[0] for j in job_ids})
    try:
        done = subprocess.run(["squeue", "-h", "-r", "-o", "%i", "-j", ",".join(arrays)],
                              capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        # squeue refuses ids it no longer knows: then none of them is queued
        return set() if "Invalid job id" in done.stderr else None
    return set(done.stdout.split())
