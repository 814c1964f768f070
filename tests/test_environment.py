"""The rules' conda environment installs what pyproject.toml pins, so a conda run and a pip
install resolve the same packages."""

import tomllib
import yaml

from smk import ROOT


def test_the_rule_environment_pins_match_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((ROOT / "workflow" / "envs" / "convergent.yaml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    pinned = [line for line in pip if not line.startswith("-e")]
    assert sorted(pinned) == sorted(project["dependencies"])
    assert f"python{project['requires-python']}" in env["dependencies"]
    # the package itself, installed from the repository the workflow runs from
    assert "-e ../.." in pip
