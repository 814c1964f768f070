"""Benchmark: the embedded default (`make demo`'s workflow part) on this machine's cores.

Runs `snakemake --profile profiles/local --cores N` on `config/config.yaml` in a fresh folder and
prints the wall time, then where the time went, from the Snakemake log: per stage and per rule,
the jobs, their job-seconds (the log stamps whole seconds), the longest job, and how busy the
cores were (job-seconds over cores × wall). Issue 19 holds the demo to five minutes on 2 cores.

With ``--before REF`` the same config also runs through commit REF's workflow and package (a
git worktree, its ``src`` first on PYTHONPATH) on this machine, one run after the other, and the
ratios are printed (each checkout with its own embedded default unless ``--config`` names
one): a machine's speed changes between sessions, so compare runs of one session.

    python benchmarks/bench_demo.py                     # about five minutes on 2 cores
    python benchmarks/bench_demo.py --before 8477732    # and that commit, same machine
    python benchmarks/bench_demo.py --log run.log       # only read a finished run's log
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from smk import env_with_venv, job_times, snakemake, workspace, worktree  # noqa: E402

#: The stage of a rule, by its name's start (the rest are tables, figures and the summary).
STAGES = {"train": "train", "extract": "extract", "align": "align", "theory_run": "theory"}


def stage_of(rule: str) -> str:
    return next((s for prefix, s in STAGES.items() if rule.startswith(prefix)), "aggregate")


def run(root: Path, config: Path, cores: int, source: Path = ROOT) -> tuple[str, float]:
    """One run of ``source``'s workflow on ``config`` in a fresh folder: its log and wall."""
    work = workspace(root / "run")
    env = env_with_venv(PYTHONPATH=str(source / "src")) if source != ROOT else None
    start = time.perf_counter()
    done = snakemake(work, "--profile", str(source / "profiles" / "local"), "--cores",
                     str(cores), config=config, cores=False, env=env,
                     snakefile=source / "workflow" / "Snakefile")
    return done.stdout + done.stderr, time.perf_counter() - start


def summarise(log: str, wall: float | None, cores: int, label: str) -> dict:
    """Print where a run's time went; return its wall and job-seconds."""
    jobs = job_times(log)
    if not jobs:
        sys.exit(f"{label}: the log shows no finished job")
    wall = wall or max(end for *_, end in jobs) - min(start for _, start, _ in jobs)
    by_rule: dict[str, list[float]] = defaultdict(list)
    for rule, start, end in jobs:
        by_rule[rule].append(end - start)
    total = sum(map(sum, by_rule.values()))
    print(f"{label}: {len(jobs)} jobs in {wall:.0f} s of wall on {cores} cores, {total:.0f} "
          f"job-seconds (cores busy {total / (cores * wall):.0%})")
    by_stage: dict[str, list[float]] = defaultdict(list)
    for rule, seconds in by_rule.items():
        by_stage[stage_of(rule)] += seconds
    for name, seconds in sorted(by_stage.items(), key=lambda kv: -sum(kv[1])):
        print(f"  {name:<10}{len(seconds):>4} jobs {sum(seconds):>6.0f} job-s "
              f"(longest {max(seconds):.0f} s)")
        for rule, own in sorted(by_rule.items(), key=lambda kv: -sum(kv[1])):
            if stage_of(rule) == name and len(by_rule) > 1:
                print(f"      {rule:<30}{len(own):>4} {sum(own):>6.0f}")
    return {"wall": wall, "job_s": total}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, help="a config to run instead of each "
                        "checkout's own config/config.yaml")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--before", metavar="REF", help="also run commit REF's workflow")
    parser.add_argument("--log", type=Path, help="summarise this Snakemake log; run nothing")
    parser.add_argument("--save-log", type=Path, help="keep the run's Snakemake log here")
    args = parser.parse_args()
    if args.log:
        summarise(args.log.read_text(), None, args.cores, args.log.name)
        return
    config = args.config.resolve() if args.config else None
    with tempfile.TemporaryDirectory() as folder:
        own = config or ROOT / "config" / "config.yaml"
        log, wall = run(Path(folder), own, args.cores)
        if args.save_log:
            args.save_log.write_text(log)
        now = summarise(log, wall, args.cores, "now")
        if args.before:
            with worktree(args.before, Path(folder) / "source") as source:
                own = config or source / "config" / "config.yaml"
                log, wall = run(Path(folder) / "before", own, args.cores, source=source)
            before = summarise(log, wall, args.cores, args.before)
            print(f"ratio now / {args.before}: wall {now['wall'] / before['wall']:.2f}, "
                  f"job-seconds {now['job_s'] / before['job_s']:.2f}")


if __name__ == "__main__":
    main()
