"""The Snakemake profiles: the SLURM profile's dry run on a machine without SLURM, and
`convergent install-profile`."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from smk import BIN, ROOT, job_counts, snakemake, workspace

SLURM_COMMANDS = {"sbatch", "squeue", "sinfo", "sacct", "scontrol", "scancel", "srun", "salloc",
                  "sacctmgr", "sshare", "sstat"}
TRAIN = "train_vision_vgg11"  # test.yaml's model, trained by its own rule
GPU_RULES = (TRAIN, "extract_id", "extract_ood", "align")


def path_without_slurm(folder: Path) -> str:
    """A PATH holding every command of this one but SLURM's (links in ``folder``)."""
    folder.mkdir()
    for directory in os.environ["PATH"].split(os.pathsep):
        if not os.path.isdir(directory) or Path(directory) == BIN:
            continue
        for entry in os.scandir(directory):
            target = folder / entry.name
            if entry.name not in SLURM_COMMANDS and not target.exists():
                target.symlink_to(entry.path)
    return f"{BIN}{os.pathsep}{folder}"


def rule_blocks(dry_run: str) -> dict[str, list[str]]:
    """Each job's block of a dry run's output, by rule (the jobs of a group, e.g. an align
    batch, are indented under the group's header)."""
    blocks: dict[str, list[str]] = {}
    for block in re.split(r"\n(?=\[.*\]\n)|\n(?=\s+rule \w+:)", dry_run):
        found = re.search(r"^\s*(local)?rule (\w+):", block, flags=re.M)
        if found:
            blocks.setdefault(found.group(2), []).append(block)
    return blocks


def test_slurm_profile_dry_run_works_without_slurm(tmp_path):
    path = path_without_slurm(tmp_path / "bin")
    assert not any(shutil.which(c, path=path) for c in SLURM_COMMANDS)
    work = workspace(tmp_path / "run")
    done = snakemake(work, "-n", "--profile", str(ROOT / "profiles" / "slurm"), cores=False,
                     env={**os.environ, "PATH": path})
    counts = job_counts(done.stdout)
    # align: one task per analysis and seed pair (test.yaml has one pair of vgg11 seeds)
    assert counts["align"] == 5 and counts[TRAIN] == 2
    blocks = rule_blocks(done.stdout)
    for rule in GPU_RULES:  # GPU jobs on SLURM, with the profile's resources
        assert all("gpu=1" in b and "slurm_partition=gpu" in b for b in blocks[rule]), rule
    # training asks for the workflow's whole-slot resources (TRAIN_RESOURCES)
    assert "mem_mb=16000" in blocks[TRAIN][0] and "runtime=1440" in blocks[TRAIN][0]
    # no groups: a failed align task must rerun alone (a failed group loses every member)
    assert "Group job" not in done.stdout
    local = snakemake(work, "-n", "--profile", str(ROOT / "profiles" / "local"), cores=False)
    assert job_counts(local.stdout) == counts


def test_slurm_profile_sends_every_rule_as_arrays_without_groups():
    profile = yaml.safe_load((ROOT / "profiles" / "slurm" / "config.yaml").read_text())
    assert profile["executor"] == "slurm"
    # training (one rule per model), extraction and align tasks: each wave of ready jobs of a
    # rule is one sbatch call
    assert profile["slurm-array-jobs"] == "all"
    assert profile["retries"] >= 1  # long training finishes over resumed attempts
    # no groups (a failed group deletes its finished members' outputs) and no global resource
    # limit that would serialise GPU jobs; never keep-incomplete, which makes Snakemake record
    # a failed job's leftover outputs as finished
    assert not {"groups", "group-components", "resources"} & set(profile)
    assert not profile.get("keep-incomplete") and profile["rerun-incomplete"]
    for rule in set(GPU_RULES) - {TRAIN}:  # training: the rule's own resources
        assert profile["set-resources"][rule]["gpu"] == 1


def install(*args, home: Path):
    env = {**os.environ, "XDG_CONFIG_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "convergent", "install-profile", *args],
                          capture_output=True, text=True, env=env)


def test_install_profile_puts_the_profile_where_snakemake_finds_it(tmp_path):
    done = install(home=tmp_path / "config")
    assert done.returncode == 0, done.stderr
    installed = tmp_path / "config" / "snakemake" / "slurm" / "config.yaml"
    assert installed.read_text() == (ROOT / "profiles" / "slurm" / "config.yaml").read_text()
    # and snakemake resolves `--profile slurm` to it, from a folder that has no profiles/
    work = workspace(tmp_path / "run")
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    dry = snakemake(work, "-n", "--profile", "slurm", cores=False, env=env)
    assert "slurm_partition=gpu" in dry.stdout


def test_install_profile_never_overwrites_a_profile_the_user_has(tmp_path):
    mine = tmp_path / "config" / "snakemake" / "slurm"
    mine.mkdir(parents=True)
    (mine / "config.yaml").write_text("executor: slurm\njobs: 7\n")
    done = install(home=tmp_path / "config")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "not overwriting" in done.stderr
    assert (mine / "config.yaml").read_text() == "executor: slurm\njobs: 7\n"
    assert sorted(os.listdir(mine.parent)) == ["slurm"]
    other = install("--name", "gpu-cluster", home=tmp_path / "config")
    assert other.returncode == 0 and (mine.parent / "gpu-cluster" / "config.yaml").exists()


@pytest.mark.parametrize("name", ["", "a/b", ".."])
def test_install_profile_rejects_a_name_that_is_not_one(tmp_path, name):
    done = install("--name", name, home=tmp_path / "config")
    assert done.returncode == 2 and "is not a profile name" in done.stderr
    assert not (tmp_path / "config").exists()
