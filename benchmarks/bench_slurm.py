"""Benchmark: alignment on SLURM one job per SLURM job (before) against batches (after).

Runs the workflow twice through `profiles/slurm` on a real SLURM cluster (tests/slurm/cluster.sh
start), each time in a fresh folder: "before" without the profile's align batches (align jobs
leave as job arrays, one task each), "after" with the profile as it is. For each run it prints
the wall time, the sbatch calls, the SLURM jobs (an array task or a batch counts once) and the
time an align job costs: the mean run time of an align SLURM job before, a batch's run time per
member after; their difference is the start-up a batch saves per align job. For array tasks
it also prints their start-up (SLURM start to the command) and how much longer tasks other
than an array's first take (the wait for the first task's outputs). Then, "on paper",
from the dry run of the paper preset: the SLURM jobs and sbatch calls the profile would make
with and without batches, and the start-up share of the alignment stage.

    python benchmarks/bench_slurm.py                      # config/slurm-scale.yaml, both runs
    python benchmarks/bench_slurm.py --runs after         # one run
    python benchmarks/bench_slurm.py --runs none --align-seconds 10   # the paper estimate only

The runs use the production profile with the test cluster's overrides only (those of
tests/test_slurm.py: its partition, status checks through squeue, a 2 s first status check).
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from smk import job_counts, snakemake, workspace  # noqa: E402

PARTITION = os.environ.get("CONVERGENT_SLURM_PARTITION", "debug")
TEST_CLUSTER = {"slurm-status-command": "squeue",  # accounting is off on the test cluster
                "slurm-init-seconds-before-status-checks": 2}
BATCH_KEYS = ("groups", "group-components", "resources", "set-resource-scopes")
STARTUP_S = 14  # core-seconds of Snakemake jobstep start-up per SLURM job (issue 20)


def profile(folder: Path, batched: bool, partition: str | None = PARTITION) -> Path:
    """profiles/slurm, without its align batches unless ``batched``; with the test cluster's
    overrides when ``partition`` is given (a dry run needs none)."""
    settings = production()
    if not batched:
        for key in BATCH_KEYS:
            settings.pop(key, None)
    if partition:
        settings["default-resources"]["slurm_partition"] = repr(partition)
        settings.update(TEST_CLUSTER)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.yaml").write_text(yaml.safe_dump(settings, sort_keys=False))
    return folder


def production() -> dict:
    return yaml.safe_load((ROOT / "profiles" / "slurm" / "config.yaml").read_text())


def seconds(runtime: str) -> int:
    """SLURM's [D-]HH:MM:SS as seconds."""
    days, _, clock = runtime.rpartition("-")
    h, m, s = (int(x) for x in clock.split(":"))
    return int(days or 0) * 86400 + h * 3600 + m * 60 + s


def slurm_jobs(workdir: Path) -> list[dict[str, str]]:
    """`scontrol show job` of every job (or array task) that ran in ``workdir``: finished jobs
    stay there for MinJobAge, and the test cluster keeps no accounting for sacct."""
    done = subprocess.run(["scontrol", "show", "job", "-o"], capture_output=True, text=True,
                          check=True)
    rows = (dict(item.split("=", 1) for item in line.split() if "=" in item)
            for line in done.stdout.splitlines())
    return [row for row in rows if row.get("WorkDir") == str(workdir)]


def kind(job: dict[str, str]) -> str:
    """The rule or group of a job, from the comment the executor plugin gives it
    (rule_<name>_wildcards_...; a group's is rule_<group>_<rules>)."""
    comment = job.get("Comment", "")
    names = ("align_batch", "train", "extract_id", "extract_ood", "align")
    return next((n for n in names if comment.startswith(f"rule_{n}_") or comment == f"rule_{n}"),
                comment)


def clock(stamp: str) -> float:
    return time.mktime(time.strptime(stamp, "%Y-%m-%dT%H:%M:%S"))


def array_tasks(work: Path, log: str, jobs: list[dict[str, str]]) -> dict[str, list[float]]:
    """For each completed array task: the seconds from SLURM starting it to its command
    starting (Snakemake's start-up; the command opens its rule's log, which stays empty) and
    from there to SLURM ending it, the latter for first tasks and the others apart: the others
    also wait for their array's first task's outputs (README). The Snakemake log maps an
    array's tasks, in order, to its jobs, and a job to its rule's log."""
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


def run(name: str, root: Path, config: Path, batched: bool) -> dict:
    """One run through the profile in a fresh folder, and what SLURM saw of it."""
    work = workspace(root / name)
    prof = profile(root / f"{name}-profile", batched)
    align = job_counts(snakemake(work, "-n", "--profile", str(prof), config=config,
                                 cores=False).stdout)["align"]
    start = time.perf_counter()
    done = snakemake(work, "--profile", str(prof), config=config, cores=False)
    wall = time.perf_counter() - start
    jobs = slurm_jobs(work)
    aligning = [j for j in jobs if kind(j).startswith("align")]
    return {"name": name, "wall": wall, "jobs": len(jobs),
            "tasks": array_tasks(work, done.stdout + done.stderr, jobs),
            "sbatch": len({j.get("ArrayJobId", j["JobId"]) for j in jobs}),
            "align_jobs": align, "align_slurm_jobs": len(aligning),
            "per_align": sum(seconds(j["RunTime"]) for j in aligning) / align,
            "by_kind": {k: sum(kind(j) == k for j in jobs) for k in sorted(set(map(kind, jobs)))}}


def show(result: dict) -> None:
    print(f"{result['name']:>6}: {result['wall']:6.0f} s wall, {result['sbatch']:3d} sbatch calls,"
          f" {result['jobs']:3d} SLURM jobs {result['by_kind']}; {result['align_jobs']} align jobs"
          f" in {result['align_slurm_jobs']} SLURM jobs, {result['per_align']:.1f} s of SLURM job"
          " per align job")
    mean = {key: sum(v) / len(v) for key, v in result["tasks"].items() if v}
    if "others" in mean and "first" in mean:
        print(f"        array tasks: start-up {mean['start-up']:.1f} s (SLURM start to command);"
              f" command start to SLURM end: first tasks {mean['first']:.1f} s, others "
              f"{mean['others']:.1f} s (max {max(result['tasks']['others']):.0f} s): they wait"
              f" {mean['others'] - mean['first']:.1f} s more, for their first task")


def compare(before: dict, after: dict) -> None:
    ratio = {key: after[key] / before[key] for key in ("wall", "sbatch", "jobs")}
    print(f" ratio: wall {ratio['wall']:.2f}, sbatch calls {ratio['sbatch']:.2f}, "
          f"SLURM jobs {ratio['jobs']:.2f} (after / before)")
    print(f"start-up saved per align job: {before['per_align'] - after['per_align']:.1f} s "
          f"(before {before['per_align']:.1f} s, after {after['per_align']:.1f} s per align job)")


def dry_run(config: Path) -> tuple[dict[str, int], int]:
    """The plan of ``config`` through the profile: its jobs per rule and its align batches."""
    with tempfile.TemporaryDirectory() as folder:
        work = workspace(Path(folder) / "run")
        prof = profile(Path(folder) / "profile", batched=True, partition=None)
        out = snakemake(work, "-n", "--profile", str(prof), config=config, cores=False).stdout
    return job_counts(out), len(re.findall(r"Group job align_batch", out))


def on_paper(config: Path, align_seconds: float, startup: float) -> None:
    """SLURM jobs, sbatch calls and the start-up share of the alignment stage for ``config``,
    with and without batches, from its dry run. SLURM jobs are those of the rules the profile
    gives resources (a dry run does not tell local rules apart); the others are listed."""
    counts, batches = dry_run(config)
    settings = production()
    # the rules the profile gives resources, and the training rules (one per model: theirs
    # are the workflow's TRAIN_RESOURCES)
    gpu_rules = {*settings["set-resources"], *(r for r in counts if r.startswith("train_"))}
    staged = {rule: counts.get(rule, 0) for rule in gpu_rules}
    align = staged.pop("align")
    others = {rule: n for rule, n in counts.items() if rule not in gpu_rules and rule != "total"}
    arrays = {rule.strip() for rule in settings["slurm-array-jobs"].split(",")}
    # at least one sbatch call per array rule and one per job of the other rules; the waves
    # in which jobs become ready add more
    calls = sum(1 if rule in arrays else n for rule, n in staged.items() if n)
    work = align * align_seconds
    print(f"\n{config.name} on paper: {align} align jobs, other GPU-stage jobs {staged}; "
          f"rules outside the profile's resources (not counted): {others}")
    print(f"align job {align_seconds:.1f} s, start-up {startup:.0f} s per SLURM job")
    for name, align_jobs, align_calls in (
            ("before", align, math.ceil(align / settings["slurm-array-limit"])),
            ("after", batches, batches)):
        share = align_jobs * startup / (align_jobs * startup + work)
        print(f"{name:>6}: {sum(staged.values()) + align_jobs} SLURM jobs, at least "
              f"{calls + align_calls} sbatch calls; alignment: {align_jobs} SLURM jobs, "
              f"{(align_jobs * startup + work) / 3600:.1f} GPU-hours of which start-up {share:.0%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "config" / "slurm-scale.yaml")
    parser.add_argument("--runs", choices=["both", "before", "after", "none"], default="both")
    parser.add_argument("--paper", type=Path, default=ROOT / "config" / "paper.yaml")
    parser.add_argument("--align-seconds", type=float, default=None,
                        help="an align job's own time for the paper estimate (default: the "
                             "after run's time per align job)")
    parser.add_argument("--startup", type=float, default=STARTUP_S,
                        help="start-up core-seconds per SLURM job (default: %(default)s)")
    args = parser.parse_args()
    if args.runs != "none" and shutil.which("sbatch") is None:
        sys.exit("no SLURM here (tests/slurm/cluster.sh install, then start; or --runs none)")
    if args.runs == "none" and args.align_seconds is None:
        sys.exit("--runs none needs --align-seconds (an align job's time in seconds)")
    print(f"profiles/slurm: group-components {production()['group-components']}; "
          f"config {args.config.name}")
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for name in ("before", "after"):
            if args.runs in (name, "both"):
                results[name] = run(name, Path(folder), args.config.resolve(), name == "after")
                show(results[name])
    if len(results) == 2:
        compare(results["before"], results["after"])
    align_seconds = args.align_seconds or results["after"]["per_align"]
    on_paper(args.paper.resolve(), align_seconds, args.startup)


if __name__ == "__main__":
    main()
