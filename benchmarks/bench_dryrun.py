"""Benchmark: the dry run of a config (default: the paper-scale preset, no data needed).

Prints the number of jobs per rule, the total and the wall time of `snakemake -n`, so the cost
of building the DAG stays visible as the study grows (design.md: a dry run must stay fast).

    python benchmarks/bench_dryrun.py                       # config/paper.yaml
    python benchmarks/bench_dryrun.py --config config/config.yaml --profile profiles/slurm
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "config" / "paper.yaml")
    parser.add_argument("--profile", type=Path, default=None,
                        help="a Snakemake profile to dry-run with (default: none, --cores 1)")
    args = parser.parse_args()
    snakemake = Path(sys.executable).parent / "snakemake"
    with tempfile.TemporaryDirectory() as work:
        shutil.copytree(ROOT / "config", Path(work) / "config")
        cmd = [str(snakemake), "-n", "-q", "rules", "-s", str(ROOT / "workflow" / "Snakefile"),
               "--directory", work, "--configfile", str(args.config.resolve())]
        cmd += ["--profile", str(args.profile.resolve())] if args.profile else ["--cores", "1"]
        start = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True)
        seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"dry run failed:\n{done.stderr[-3000:]}")
    print(done.stdout.strip())
    print(f"\ndry run of {args.config.name}: {seconds:.1f} s wall")


if __name__ == "__main__":
    main()
