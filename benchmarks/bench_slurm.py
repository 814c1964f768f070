"""Benchmark: the workflow through `profiles/slurm` on a real SLURM cluster, and the paper preset
on paper.

Runs `config/slurm-scale.yaml` through the production profile (with the test cluster's
overrides only: its partition, status checks through squeue, a 2 s first status check) in a
fresh folder, and prints what SLURM saw: the wall time, the sbatch calls, the SLURM jobs per rule
(an array task counts as a job), the SLURM time per align task and per alignment point, and for
array tasks their start-up (SLURM start to the command) and how much longer tasks other than an
array's first take (they also wait for the first task's outputs, README). Beside it, the numbers
issue 20 was filed with (commit 6f0ae8b, same config and cluster, one align job and one SLURM
task per alignment point) and the ratios.

Then, on paper, from the dry run of the paper preset through the profile: its jobs per rule, the
SLURM tasks and the least sbatch calls they take, the start-up share of the alignment stage
with one SLURM task per align task (now) against one per alignment point (at 6f0ae8b), and the
GPU-hours of each stage from per-task costs: measured by the run on the test cluster, or given
(``--point-seconds``, ``--job-seconds``) from a GPU.

With ``--before REF`` (issue 20's commit is 6f0ae8b) the same config also runs through REF's
own workflow, profile and package (a git worktree, its ``src`` first on PYTHONPATH) on this
machine and cluster, so before and after are measured side by side rather than against numbers
from another machine. REF's schema may predate some keys of the config (6f0ae8b has no
``align.null_draws`` or ``align.rotations``); those are dropped for its run, which therefore does
a little less work than the current one.

    python benchmarks/bench_slurm.py                          # run, then the paper estimate
    python benchmarks/bench_slurm.py --before 6f0ae8b         # and the filed commit, same machine
    python benchmarks/bench_slurm.py --runs none --point-seconds 2   # the paper estimate only
    python benchmarks/bench_slurm.py --runs none --point-seconds 60 \
        --job-seconds train=36000 --job-seconds extract=300     # with your GPU's costs
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from smk import (  # noqa: E402,E501
    env_with_venv,
    job_counts,
    rule_of,
    sbatch_calls,
    seconds_of,
    slurm_jobs,
    snakemake,
    workspace,
    worktree,
)

PARTITION = os.environ.get("CONVERGENT_SLURM_PARTITION", "debug")
TEST_CLUSTER = {"slurm-status-command": "squeue",  # accounting is off on the test cluster
                "slurm-init-seconds-before-status-checks": 2}
STARTUP_S = 14  # seconds of Snakemake start-up per SLURM task (issue 20; printed by a run)
# config/slurm-scale.yaml at commit 6f0ae8b, as issue 20 reports it (quiet machine): one align
# job, and one SLURM array task, per alignment point
FILED = {"wall": 539.0, "sbatch": 25, "jobs": 78, "align_jobs": 54}
GPU_RULES = re.compile(r"^(train_\w+|extract_\w+|align)$")


def profile(folder: Path, partition: str | None = PARTITION, status_s: int | None = None,
            root: Path = ROOT) -> Path:
    """``root``'s profiles/slurm, with the test cluster's overrides when ``partition`` is given
    (a dry run needs none); ``status_s`` replaces its seconds between status checks after a job
    ends."""
    settings = yaml.safe_load((root / "profiles" / "slurm" / "config.yaml").read_text())
    if partition:
        settings["default-resources"]["slurm_partition"] = repr(partition)
        settings.update(TEST_CLUSTER)
    if status_s is not None:
        settings["slurm-init-seconds-before-status-checks"] = status_s
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.yaml").write_text(yaml.safe_dump(settings, sort_keys=False))
    return folder


def clock(stamp: str) -> float:
    return time.mktime(time.strptime(stamp, "%Y-%m-%dT%H:%M:%S"))


def array_tasks(work: Path, log: str, jobs: list[dict[str, str]]) -> dict[str, list[float]]:
    """For each completed array task: the seconds from SLURM starting it to its command
    starting (Snakemake's start-up; the command opens its rule's log) and from there to SLURM
    ending it, the latter for first tasks and the others apart: the others also wait for their
    array's first task's outputs (README). The Snakemake log maps an array's tasks, in order,
    to its jobs, and a job to its rule's log."""
    logs = dict((job, path) for path, job in re.findall(
        r"^\s+log: (.+)\n(?:\s+\w+: .*\n)*?\s+jobid: (\d+)$", log, flags=re.M))
    tasks = {(array, str(k)): job
             for ids, array in re.findall(r"Snakemake IDs ([\d,]+) and SLURM job ID (\d+)", log)
             for k, job in enumerate(ids.split(","), start=1)}
    times: dict[str, list[float]] = {"start-up": [], "first": [], "others": []}
    for j in jobs:
        job = tasks.get((j.get("ArrayJobId"), j.get("ArrayTaskId")))
        if job and j["JobState"] == "COMPLETED" and job in logs:
            began = (work / logs[job].split(", ")[0]).stat().st_mtime
            times["start-up"].append(began - clock(j["StartTime"]))
            times["first" if j["ArrayTaskId"] == "1" else "others"].append(
                clock(j["EndTime"]) - began)
    return times


def stage_of(rule: str) -> str | None:
    """train, extract or align for the GPU rules (None for the rest)."""
    return next((stage for stage in ("train", "extract", "align") if rule.startswith(stage)),
                None)


def stage_times(jobs: list[dict[str, str]]) -> dict[str, list[float]]:
    """Each GPU stage's completed SLURM jobs: their run times (start-up included)."""
    times: dict[str, list[float]] = {"train": [], "extract": [], "align": []}
    for job in jobs:
        stage = stage_of(rule_of(job))
        if stage and job["JobState"] == "COMPLETED":
            times[stage].append(seconds_of(job["RunTime"]))
    return times


def align_points(dry_run: str) -> int:
    """The alignment points of a dry run's align tasks (one per `--points` entry)."""
    return sum(line.count('"labels"') for line in dry_run.splitlines()
               if "convergent grid --points" in line)


def run(root: Path, config: Path, status_s: int | None, source: Path = ROOT) -> dict:
    """One run through ``source``'s workflow and profile in a fresh folder, and what SLURM saw
    of it. A ``source`` other than this checkout runs with its own package first on the path."""
    work = workspace(root / "run")
    prof = profile(root / "profile", status_s=status_s, root=source)
    env = env_with_venv(PYTHONPATH=str(source / "src")) if source != ROOT else None
    smk = dict(config=config, cores=False, env=env, snakefile=source / "workflow" / "Snakefile")
    plan = snakemake(work, "-n", "--profile", str(prof), **smk).stdout
    start = time.perf_counter()
    done = snakemake(work, "--profile", str(prof), **smk)
    wall = time.perf_counter() - start
    jobs = slurm_jobs(work)
    aligning = [j for j in jobs if rule_of(j) == "align"]
    align_time = sum(seconds_of(j["RunTime"]) for j in aligning)
    return {"wall": wall, "jobs": len(jobs), "sbatch": sbatch_calls(jobs),
            "tasks": array_tasks(work, done.stdout + done.stderr, jobs),
            "align_jobs": job_counts(plan)["align"], "points": align_points(plan),
            "align_slurm": len(aligning), "align_time": align_time,
            "per_task": align_time / max(1, len(aligning)),
            "job_seconds": {stage: sum(times) / len(times) for stage, times in stage_times(
                jobs).items() if times},
            "by_kind": {k: sum(rule_of(j) == k for j in jobs)
                        for k in sorted(set(map(rule_of, jobs)))}}


def show(result: dict, label: str) -> None:
    print(f"{label:>7}: {result['wall']:5.0f} s wall, {result['sbatch']:3d} sbatch calls, "
          f"{result['jobs']:3d} SLURM jobs {result['by_kind']}")
    print(f"         {result['align_jobs']} align tasks for {result['points']} alignment points: "
          f"{result['per_task']:.1f} s of SLURM time per task")
    mean = {key: sum(v) / len(v) for key, v in result["tasks"].items() if v}
    if "start-up" in mean:
        print(f"         array tasks: start-up {mean['start-up']:.1f} s (SLURM start to command)")
    if "others" in mean and "first" in mean:
        print(f"         command start to SLURM end: first tasks {mean['first']:.1f} s, others "
              f"{mean['others']:.1f} s (max {max(result['tasks']['others']):.0f} s): they wait"
              f" {mean['others'] - mean['first']:.1f} s more, for their first task")


def compare(now: dict, before: dict, label: str) -> None:
    print(f"  ratio: wall {now['wall'] / before['wall']:.2f}, sbatch calls "
          f"{now['sbatch'] / before['sbatch']:.2f}, SLURM jobs "
          f"{now['jobs'] / before['jobs']:.2f} (now / {label})")


def before_run(root: Path, config: Path, ref: str, status_s: int | None) -> dict:
    """The same config through commit ``ref``'s workflow, profile and package."""
    with worktree(ref, root / "source") as source:
        settings = yaml.safe_load(config.read_text())
        schema = (source / "workflow" / "schemas" / "config.schema.yaml").read_text()
        for key in ("null_draws", "rotations"):  # keys newer than the filed commit
            if f" {key}:" not in schema:
                settings["align"].pop(key, None)
        older = root / "before.yaml"
        older.write_text(yaml.safe_dump(settings, sort_keys=False))
        return run(root / "before", older, status_s, source=source)


def on_paper(config: Path, point_seconds: float, startup: float,
             job_seconds: dict[str, float]) -> None:
    """SLURM tasks, least sbatch calls, the start-up share of the alignment stage and the GPU
    hours of each stage for ``config``, from its dry run through the profile: alignment from
    ``point_seconds`` per point and ``startup`` per task, training and extraction from
    ``job_seconds`` per task (measured on the test cluster, or given). SLURM jobs are those of
    the GPU rules (training, extraction, alignment); the rest run on the login node."""
    with tempfile.TemporaryDirectory() as folder:
        work = workspace(Path(folder) / "run")
        prof = profile(Path(folder) / "profile", partition=None)
        out = snakemake(work, "-n", "--profile", str(prof), config=config, cores=False).stdout
    counts = job_counts(out)
    staged = {rule: n for rule, n in counts.items() if GPU_RULES.match(rule)}
    tasks, points = staged["align"], align_points(out)
    work_s = points * point_seconds
    print(f"\n{config.name} on paper: {sum(staged.values())} SLURM jobs {staged}; at least "
          f"{len(staged)} sbatch calls (one array per rule; waves of ready jobs add more)")
    print(f"alignment: {points} points in {tasks} align tasks; at {point_seconds:.1f} s per point"
          f" and {startup:.0f} s of start-up per SLURM task:")
    for name, slurm_tasks in (("now", tasks), ("filed", points)):
        total = slurm_tasks * startup + work_s
        print(f"{name:>6}: {slurm_tasks} SLURM tasks, {total / 3600:.1f} GPU-hours of which "
              f"start-up {slurm_tasks * startup / total:.0%}")
    print("GPU-hours per stage (one GPU per task):")
    hours = {"align": (tasks * startup + work_s) / 3600}
    for stage in ("train", "extract"):
        count = sum(n for rule, n in staged.items() if stage_of(rule) == stage)
        if stage not in job_seconds:
            print(f"  {stage:8} {count:5d} tasks: n/a (no measured cost; give --job-seconds "
                  f"{stage}=S)")
            continue
        hours[stage] = count * job_seconds[stage] / 3600
        print(f"  {stage:8} {count:5d} tasks × {job_seconds[stage]:7.1f} s = "
              f"{hours[stage]:8.1f} GPU-hours")
    print(f"  {'align':8} {tasks:5d} tasks, {points} points = {hours['align']:8.1f} GPU-hours")
    print(f"  total {sum(hours.values()):.1f} GPU-hours over the stages with a cost")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "config" / "slurm-scale.yaml")
    parser.add_argument("--runs", choices=["now", "none"], default="now")
    parser.add_argument("--before", metavar="REF", default=None,
                        help="also run the config through commit REF's workflow (6f0ae8b: "
                             "the one issue 20 was filed at), on this machine")
    parser.add_argument("--paper", type=Path, default=ROOT / "config" / "paper.yaml")
    parser.add_argument("--point-seconds", type=float, default=None,
                        help="SLURM seconds per alignment point for the paper estimate "
                             "(default: the run's)")
    parser.add_argument("--startup", type=float, default=None,
                        help="start-up seconds per SLURM task (default: the run's array tasks',"
                             f" else {STARTUP_S})")
    parser.add_argument("--job-seconds", action="append", default=[], metavar="STAGE=S",
                        help="SLURM seconds per task of stage train or extract for the paper "
                             "estimate (default: the run's mean; a test-cluster CPU job is "
                             "far from a paper job, so give your GPU's)")
    parser.add_argument("--status-seconds", type=int, default=None,
                        help="seconds between status checks after a job ends (default: the "
                             "test cluster's 2; the production profile says 40)")
    args = parser.parse_args()
    if args.runs != "none" and shutil.which("sbatch") is None:
        sys.exit("no SLURM here (tests/slurm/cluster.sh install, then start; or --runs none)")
    if args.runs == "none" and args.point_seconds is None:
        sys.exit("--runs none needs --point-seconds (SLURM seconds per alignment point)")
    point_seconds, startup = args.point_seconds, args.startup
    given = dict(job_seconds(text) for text in args.job_seconds)
    measured_jobs: dict[str, float] = {}
    if args.runs == "now":
        interval = args.status_seconds or TEST_CLUSTER["slurm-init-seconds-before-status-checks"]
        print(f"config {args.config.name} through profiles/slurm, status checks {interval} s "
              "after a job ends")
        before = None
        with tempfile.TemporaryDirectory() as folder:
            if args.before:
                before = before_run(Path(folder), args.config.resolve(), args.before,
                                    args.status_seconds)
            result = run(Path(folder), args.config.resolve(), args.status_seconds)
        show(result, "now")
        if before:
            show(before, args.before)
            compare(result, before, args.before)
        print(f"  filed: {FILED['wall']:5.0f} s wall, {FILED['sbatch']:3d} sbatch calls, "
              f"{FILED['jobs']:3d} SLURM jobs; {FILED['align_jobs']} align jobs, one SLURM task "
              "each (issue 20, commit 6f0ae8b, another machine)")
        compare(result, {k: float(v) for k, v in FILED.items()}, "filed")
        measured = result["tasks"]["start-up"]
        startup = startup or (sum(measured) / len(measured) if measured else STARTUP_S)
        # an alignment point's own time: the align tasks' SLURM time less their start-ups
        point_seconds = point_seconds or max(0.0, result["align_time"] - startup * result[
            "align_slurm"]) / result["points"]
        print(f"        per alignment point, start-up excluded: {point_seconds:.1f} s")
        measured_jobs = result["job_seconds"]
        print("        per task, start-up included: " + ", ".join(
            f"{stage} {seconds:.1f} s" for stage, seconds in measured_jobs.items()))
    on_paper(args.paper.resolve(), point_seconds, startup or STARTUP_S,
             {**measured_jobs, **given})


def job_seconds(text: str) -> tuple[str, float]:
    """STAGE=SECONDS for train or extract."""
    stage, _, value = text.partition("=")
    if stage not in ("train", "extract"):
        sys.exit(f"--job-seconds {text}: the stage is train or extract")
    try:
        return stage, float(value)
    except ValueError:
        sys.exit(f"--job-seconds {text}: SECONDS is not a number")


if __name__ == "__main__":
    main()
