"""SLURM integration: the workflow through `snakemake --profile profiles/slurm` and a blocked
grid through submitit, on a real SLURM cluster (tests/slurm/cluster.sh start).

The profile is the production one with the test cluster's overrides only: its partition, the
status check through squeue (accounting is off) and a short first status check. What happened is
checked from SLURM's side too (`scontrol show job`, which keeps finished jobs for MinJobAge).
Without a cluster these tests are skipped with the reason; with CONVERGENT_REQUIRE_SLURM=1 (as
in CI) a missing cluster fails them instead.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
import yaml

from smk import (
    ROOT,
    edited_config,
    env_with_venv,
    job_counts,
    rule_of,
    sbatch_calls,
    seconds_of,
    slurm_jobs,
    snakemake,
    workspace,
)

PARTITION = os.environ.get("CONVERGENT_SLURM_PARTITION", "debug")
TEST_OVERRIDES = {
    "slurm-status-command": "squeue",  # accounting is off on the test cluster: no sacct
    "slurm-init-seconds-before-status-checks": 2,
}


def cluster_problem() -> str | None:
    if shutil.which("sinfo") is None:
        return "no SLURM client on this machine (tests/slurm/cluster.sh install, then start)"
    done = subprocess.run(["sinfo", "-h", "-p", PARTITION, "-o", "%a %T"], capture_output=True,
                          text=True)
    if done.returncode != 0 or not done.stdout.strip():
        return (f"no SLURM cluster answers with partition {PARTITION!r} "
                f"({(done.stderr or 'empty sinfo').strip().splitlines()[-1]}); "
                "start one with tests/slurm/cluster.sh start")
    return None


_problem = cluster_problem()
if _problem and os.environ.get("CONVERGENT_REQUIRE_SLURM") == "1":
    raise RuntimeError(f"CONVERGENT_REQUIRE_SLURM=1 but {_problem}")
pytestmark = [pytest.mark.slurm, pytest.mark.skipif(_problem is not None, reason=str(_problem))]


def slurm_profile(folder: Path, **overrides) -> Path:
    """profiles/slurm with the test cluster's overrides (and any given here)."""
    profile = yaml.safe_load((ROOT / "profiles" / "slurm" / "config.yaml").read_text())
    profile["default-resources"]["slurm_partition"] = repr(PARTITION)  # a Python string
    profile.update({**TEST_OVERRIDES, **overrides})
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.yaml").write_text(yaml.safe_dump(profile, sort_keys=False))
    return folder


def asks_for_a_gpu(job: dict[str, str]) -> bool:
    return "gpu" in job.get("TresPerNode", "") + job.get("TresPerJob", "")


UNFINISHED = ("PENDING", "RUNNING", "COMPLETING", "CONFIGURING", "SUSPENDED")


def cancel_a_running_job(workdir: Path, rule: str) -> str | None:
    """scancel one running job (or array task) of ``rule``; its id once SLURM says CANCELLED.

    Only a running one: a pending array task cancelled before it starts vanishes from squeue,
    and the executor plugin's squeue status checks then wait for it forever (with sacct, as on
    a cluster with accounting, it is reported). Never the first task of an array: with the
    executor plugin (2.8) every task of an array also waits for the first task's outputs, so
    losing the first task fails the whole array (README, "Running on a SLURM cluster").
    """
    running = [j for j in slurm_jobs(workdir) if rule_of(j) == rule and j["JobState"] == "RUNNING"
               and j.get("ArrayTaskId", "2") != "1"]
    for job in running:
        # an array task by <array>_<task>: scancel takes a task's own job id without killing it
        task = (f"{job['ArrayJobId']}_{job['ArrayTaskId']}" if "ArrayJobId" in job
                else job["JobId"])
        subprocess.run(["scancel", task], capture_output=True)
        state = wait_for(lambda j=job: next((k["JobState"] for k in slurm_jobs(workdir)
                                             if k["JobId"] == j["JobId"]
                                             and k["JobState"] not in UNFINISHED), None), 30,
                         f"job {job['JobId']} to end")
        if state == "CANCELLED":  # else it finished first: try another
            return job["JobId"]
    return None


def slurm_snakemake(work: Path, profile: Path, *args, config="test.yaml", **kwargs):
    return snakemake(work, "--profile", str(profile), *args, config=config, cores=False,
                     **kwargs)


class Background:
    """snakemake running in the background, its output going to a file (a pipe nobody reads
    until the end would fill up and stall it)."""

    def __init__(self, work: Path, profile: Path, config: Path, *targets: str):
        cmd = [shutil.which("snakemake", path=env_with_venv()["PATH"]), "-s",
               str(ROOT / "workflow" / "Snakefile"), "--directory", str(work), "--configfile",
               str(config), "--profile", str(profile), *targets]
        self.output = work.parent / f"{work.name}.snakemake.out"
        with open(self.output, "w") as sink:
            self.process = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.STDOUT,
                                            env=env_with_venv())

    def finish(self, timeout: float) -> tuple[int, str]:
        try:
            code = self.process.wait(timeout=timeout)
        finally:
            if self.process.poll() is None:
                self.process.terminate()  # snakemake then cancels its SLURM jobs
                self.process.wait(timeout=60)
        return code, self.output.read_text()


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@pytest.fixture(scope="module")
def slurm_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("slurm")
    work = workspace(root / "run")
    profile = slurm_profile(root / "profile")
    started = time.monotonic()
    done = slurm_snakemake(work, profile)
    return work, profile, done, time.monotonic() - started


def align_outputs(work: Path) -> list[Path]:
    return sorted((work / "results" / "alignment").rglob("*.parquet"))


def test_the_workflow_runs_through_sbatch_in_arrays(slurm_run):
    work, _, done, seconds = slurm_run
    alignment = pd.read_parquet(work / "results" / "tables" / "alignment.parquet")
    assert set(alignment.analysis) == {"seeds", "cross", "training", "ood", "rotation"}
    assert (work / "results" / "figures" / "depth_profile.png").stat().st_size > 1000
    jobs = slurm_jobs(work)
    by_rule = pd.Series([rule_of(j) for j in jobs]).value_counts().to_dict()
    aligned = len(align_outputs(work))
    # one SLURM task per align task (an analysis and a seed pair, all its points), never a group
    assert by_rule == {"train": 2, "extract_id": 6, "extract_ood": 2, "align": aligned}, by_rule
    assert all(j["JobState"] == "COMPLETED" for j in jobs), [j["JobState"] for j in jobs]
    assert all(asks_for_a_gpu(j) for j in jobs)
    # each align task asks for the profile's align resources: one CPU, the memory and run time
    # of its inputs' size (the test's activations are far below a MB: the floors); an array's
    # memory request also carries its encoded job payload, a few MB (executor plugin 2.x)
    mem_mb, runtime_min = align_request(size_mb=0)
    for task in (j for j in jobs if rule_of(j) == "align"):
        asked = int(task["MinMemoryNode"].removesuffix("M"))
        assert task["NumCPUs"] == "1" and mem_mb <= asked <= mem_mb + 64, task
        assert seconds_of(task["TimeLimit"]) == runtime_min * 60, task["TimeLimit"]
    # the rules' ready jobs leave as arrays: fewer sbatch calls than jobs, align included
    align_calls = sbatch_calls([j for j in jobs if rule_of(j) == "align"])
    assert align_calls < aligned and sbatch_calls(jobs) < len(jobs)
    print(f"\nSLURM run: {seconds:.0f} s wall, {len(jobs)} SLURM jobs from "
          f"{sbatch_calls(jobs)} sbatch calls ({aligned} align tasks in {align_calls})")


def align_request(size_mb: int) -> tuple[int, int]:
    """The memory (MB) and run time (minutes) the production profile asks for one align job
    whose inputs have ``size_mb``, on its first attempt."""
    profile = yaml.safe_load((ROOT / "profiles" / "slurm" / "config.yaml").read_text())
    names = {"input": SimpleNamespace(size_mb=size_mb), "attempt": 1}
    align = profile["set-resources"]["align"]
    return eval(align["mem_mb"], names), eval(align["runtime"], names)


def planned_outputs(dry_run: str, rule: str) -> set[str]:
    """The outputs of the jobs of ``rule`` in a dry run's output."""
    blocks = re.split(r"\n(?=\[)", dry_run)  # a job (or a batch) starts with its [date]
    return {line.split(":", 1)[1].strip() for block in blocks
            if re.search(rf"^\s*rule {rule}:", block, flags=re.M)
            for line in block.splitlines() if line.strip().startswith("output:")}


def realigned(work: Path, since: float) -> list[Path]:
    """The align outputs written after ``since`` with the 4 folds of the edited config (one
    still being written does not read yet)."""
    done = []
    for path in align_outputs(work):
        try:
            if path.stat().st_mtime > since and "fold_3" in pd.read_parquet(path).columns:
                done.append(path)
        except (OSError, ValueError):  # half written
            pass
    return done


def test_a_cancelled_align_task_fails_alone_reruns_alone_and_retries_work(slurm_run, tmp_path):
    """Align tasks of several model pairs each (align.pairs_per_task): a cancelled one fails
    alone, the next run redoes it alone, and a retry finishes it."""
    source, _, _, _ = slurm_run
    work = tmp_path / "run"
    shutil.copytree(source, work, symlinks=True)  # seeds 0 and 1 trained and extracted
    profile = slurm_profile(tmp_path / "profile", retries=0)
    # a third seed: 3 seed pairs per analysis, all in one task; 4 folds: every task is new
    config = edited_config(work, "grouped.yaml", seeds=[0, 1, 2], align={
        "folds": 4, "pairs_per_task": 3, "analyses": ["seeds", "training", "ood", "rotation"]})
    targets = sorted(planned_outputs(slurm_snakemake(work, profile, "-n", config=config).stdout,
                                     "align"))
    aligned = len(targets)
    assert aligned == 4 and all(Path(t).stem.endswith("+2") for t in targets), targets
    started = time.time()
    run = Background(work, profile, config)
    # every align task reads seed 2, so they are ready together: one array; cancel one of its
    # running tasks
    assert wait_for(lambda: cancel_a_running_job(work, "align"), 400, "an align task to cancel")
    code, output = run.finish(timeout=400)
    assert code != 0, output
    assert "CANCELLED" in output and "Error" in output, output[-3000:]
    # the other tasks finished and keep their outputs; only the cancelled one is missing ...
    done = {str(path.relative_to(work)) for path in realigned(work, started)}
    missing = set(targets) - done
    assert len(done) == aligned - 1 and len(missing) == 1, (done, missing)
    assert not any((work / target).exists() for target in missing)
    # ... and the next run plans it alone, nothing upstream of it. (Asked for the alignments:
    # with the old tables still newer than every input, `all` would not want it again.)
    again = slurm_snakemake(work, profile, "-n", *targets, config=config).stdout
    assert planned_outputs(again, "align") == missing, again[-3000:]
    assert set(job_counts(again)) == {"align", "total"}, again[-2000:]
    # with the production retries, the task cancelled again is resubmitted, asking for twice
    # the run time, and the run completes
    profile = slurm_profile(tmp_path / "retrying")
    before = {j["JobId"] for j in slurm_jobs(work)}
    run = Background(work, profile, config, *targets)
    wait_for(lambda: cancel_a_running_job(work, "align"), 240, "the rerun task to cancel")
    code, output = run.finish(timeout=400)
    assert code == 0, output[-3000:]
    tasks = sorted((j for j in slurm_jobs(work) if j["JobId"] not in before),
                   key=lambda j: int(j["JobId"]))
    assert [j["JobState"] for j in tasks] == ["CANCELLED", "COMPLETED"], tasks
    first, retry = (seconds_of(j["TimeLimit"]) for j in tasks)
    assert retry == 2 * first == 2 * align_request(size_mb=0)[1] * 60
    assert len(realigned(work, started)) == aligned
    (redone,) = missing  # the grouped task redone: all three of its pairs
    pairs = pd.read_parquet(work / redone)[["seed_x", "seed_y"]].drop_duplicates()
    assert sorted(map(tuple, pairs.to_numpy().tolist())) == [(0, 1), (0, 2), (1, 2)]


def test_a_training_job_killed_mid_epoch_resumes_on_retry(tmp_path):
    work = workspace(tmp_path / "run")
    config = edited_config(work, "resnet.yaml", models={"resnet18": {"arch": "resnet18"}},
                           train={"epochs": 3})
    profile = slurm_profile(tmp_path / "profile")  # the production retries
    state = work / "results" / "train_state" / "resnet18" / "seed0"
    target = "results/checkpoints/resnet18/seed0/epoch3.pt"
    run = Background(work, profile, config, target)
    wait_for(lambda: (state / "epoch1.pt").exists(), 240, "the epoch 1 checkpoint")
    kept = (state / "epoch1.pt").stat().st_ino
    assert cancel_a_running_job(work, "train")  # in the middle of epoch 2
    code, output = run.finish(timeout=400)
    assert code == 0, output[-3000:]
    trains = sorted(slurm_jobs(work), key=lambda j: int(j["JobId"]))
    assert [j["JobState"] for j in trains] == ["CANCELLED", "COMPLETED"], trains
    log = (work / "logs" / "train" / "resnet18" / "seed0.log").read_text()
    assert "resuming after epoch 1" in log or "resuming after epoch 2" in log, log
    assert "epoch 0:" not in log and "epoch 1:" not in log  # the retry did not train them
    assert (state / "epoch1.pt").stat().st_ino == kept  # nor rewrote their checkpoints
    assert (work / target).exists()


def test_a_blocked_grid_runs_as_one_submitit_array_on_slurm(tmp_path):
    from convergent.distributed import ClusterOptions, GridSpec, grid_in_blocks
    from test_distributed import network, whole_grid

    a, b = network(tmp_path / "a.safetensors", 1), network(tmp_path / "b.safetensors", 2)
    spec = GridSpec(str(a), str(b), metrics=("procrustes", "softmatch"), folds=3)
    cluster = ClusterOptions(partition=PARTITION, cpus=1, mem_gb=2, timeout_min=10)
    table = grid_in_blocks(spec, executor="slurm", blocks=4, work_dir=tmp_path / "work",
                           cluster=cluster, poll_s=1)
    pd.testing.assert_frame_equal(table, whole_grid(a, b, metrics=spec.metrics, folds=3))
    logs = tmp_path / "work" / "logs" / spec.key()

    def finished():  # a task writes its result just before SLURM sees it end
        jobs = [j for j in slurm_jobs(logs=logs) if j.get("JobName") == "convergent-grid"]
        return jobs if all(j["JobState"] not in UNFINISHED for j in jobs) else None

    jobs = wait_for(finished, 60, "the block jobs to end")
    assert len(jobs) == 4 and len({j["ArrayJobId"] for j in jobs}) == 1  # one sbatch call
    assert all(j["JobState"] == "COMPLETED" and asks_for_a_gpu(j) for j in jobs), jobs
