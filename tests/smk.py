"""Running the project's Snakemake workflow from tests: a run folder, the command, its stats,
and what SLURM saw of a run (for the SLURM tests and benchmarks/bench_slurm.py)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SNAKEFILE = ROOT / "workflow" / "Snakefile"


def env_with_venv(**extra: str) -> dict[str, str]:
    """This environment with the venv's bin first on PATH, so rules find `convergent`."""
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", **extra}


def snakemake(workdir: Path, *args: str, config: str | Path = "test.yaml", check: bool = True,
              cores: bool = True, env: dict | None = None, timeout: float | None = None,
              snakefile: Path = SNAKEFILE):
    """Run snakemake on the project's workflow (or ``snakefile``) in ``workdir`` with ``config``
    (a preset's name or a path); the CLI comes from this venv."""
    config = config if isinstance(config, Path) else ROOT / "config" / config
    cmd = [str(BIN / "snakemake"), "-s", str(snakefile), "--directory", str(workdir),
           "--configfile", str(config), *(["--cores", "2"] if cores else []), *args]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env or env_with_venv(),
                          timeout=timeout)
    if check and done.returncode != 0:
        raise AssertionError(f"snakemake failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done


def workspace(path: Path) -> Path:
    """A run folder holding the config folder the Snakefile names."""
    shutil.copytree(ROOT / "config", path / "config")
    return path


def job_counts(output: str) -> dict[str, int]:
    """The 'Job stats' table of a dry run."""
    lines = output.splitlines()
    start = lines.index("Job stats:") + 3
    counts = {}
    for line in lines[start:]:
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit():
            break
        counts[parts[0]] = int(parts[1])
    return counts


@contextmanager
def worktree(ref: str, path: Path) -> Iterator[Path]:
    """A checkout of commit ``ref`` at ``path`` (a git worktree), removed afterwards."""
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), ref],
                   check=True, capture_output=True)
    try:
        yield path
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)],
                       check=False, capture_output=True)


def job_times(log: str) -> list[tuple[str, float, float]]:
    """(rule, start, end) of every job a Snakemake log shows finishing, in seconds of the
    epoch (the log stamps whole seconds): a job starts at the stamp above its `rule` block and
    ends at the stamp above its `Finished jobid` line."""
    stamp, started, jobs = 0.0, {}, []
    for line in log.splitlines():
        if m := re.fullmatch(r"\[(\w{3} \w{3} +\d+ [\d:]+ \d{4})\]", line.strip()):
            stamp = time.mktime(time.strptime(m[1], "%a %b %d %H:%M:%S %Y"))
        elif m := re.match(r"\s+jobid: (\d+)$", line):
            started.setdefault(m[1], stamp)
        elif m := re.match(r"Finished jobid: (\d+) \(Rule: (\w+)\)", line):
            jobs.append((m[2], started.get(m[1], stamp), stamp))
    return jobs


def edited_config(workdir: Path, name: str, **sections) -> Path:
    """config/test.yaml with some sections updated, saved in ``workdir``."""
    config = yaml.safe_load((ROOT / "config" / "test.yaml").read_text())
    for section, values in sections.items():
        config[section] = ({**config.get(section, {}), **values} if isinstance(values, dict)
                           else values)
    path = workdir / "config" / name
    path.write_text(yaml.safe_dump(config))
    return path


# ---- SLURM's view of a run -----------------------------------------------------------------

def slurm_jobs(workdir: Path | None = None, logs: Path | None = None) -> list[dict[str, str]]:
    """Every job SLURM knows that ran in ``workdir`` or logged under ``logs``: one dict of
    `scontrol show job` fields per job or array task."""
    done = subprocess.run(["scontrol", "show", "job", "-o"], capture_output=True, text=True)
    jobs = []
    for line in done.stdout.splitlines():
        fields = dict(item.split("=", 1) for item in line.split() if "=" in item)
        if (workdir and fields.get("WorkDir") == str(workdir)) or (
                logs and fields.get("StdOut", "").startswith(f"{logs}/")):
            jobs.append(fields)
    return jobs


def rule_of(job: dict[str, str]) -> str:
    """The rule from the comment the executor plugin gives every job (rule_<name>_...; every
    training rule, train_vision_<model> and train_language, counts as train)."""
    comment = job.get("Comment", "")
    return next((r for r in ("train", "extract_id", "extract_ood", "align",
                             "aggregate") if comment.startswith(f"rule_{r}_")), comment)


def sbatch_calls(jobs) -> int:
    """One sbatch call per job id, an array counting once."""
    return len({j.get("ArrayJobId", j["JobId"]) for j in jobs})


def seconds_of(limit: str) -> int:
    """SLURM's [D-]HH:MM:SS in seconds."""
    days, _, clock = limit.rpartition("-")
    h, m, s = (int(x) for x in clock.split(":"))
    return int(days or 0) * 86400 + h * 3600 + m * 60 + s
