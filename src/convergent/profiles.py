"""``convergent install-profile``: the project's SLURM profile as a named Snakemake profile.

Snakemake looks a profile name up in the working directory, then in the user's profile folder
(``$XDG_CONFIG_HOME/snakemake``, i.e. ``~/.config/snakemake``) and the site's. Installing copies
``profiles/slurm`` there, so that ``snakemake --profile slurm`` works from any directory. A
profile the user already has under that name is never overwritten.
"""

from __future__ import annotations

import os
import shutil
from importlib import resources
from pathlib import Path

from .errors import ConvergentError

#: The package's view of the repository's ``profiles/`` folder (a symbolic link in the source
#: tree, package data in a wheel), so the installed profile is the one the repository ships.
SHIPPED = "snakemake_profiles"


def user_profiles_dir() -> Path:
    """Snakemake's user profile folder (the rule of ``platformdirs``, which Snakemake uses)."""
    from platformdirs import user_config_dir

    return Path(user_config_dir("snakemake", "snakemake"))


def shipped_profile(name: str = "slurm") -> Path:
    source = Path(str(resources.files("convergent") / SHIPPED / name))
    if not (source / "config.yaml").is_file():
        raise ConvergentError(f"this installation of convergent ships no '{name}' profile "
                              f"(looked in {source})")
    return source


def install_profile(name: str = "slurm", dest: str | os.PathLike | None = None) -> Path:
    """Copy the shipped SLURM profile to ``dest/name`` (default: the user profile folder).

    Raises ConvergentError, and writes nothing, when ``dest/name`` already exists.
    """
    if not name or "/" in name or name in (".", ".."):
        raise ConvergentError(f"--name: {name!r} is not a profile name")
    target = Path(dest or user_profiles_dir()) / name
    if target.exists():
        raise ConvergentError(f"{target} exists: not overwriting a profile you already have "
                              "(remove it, or choose another --name)")
    source = shipped_profile("slurm")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{name}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(source, staging)
    staging.rename(target)  # appears whole or not at all
    return target
