"""The workflow's configuration schema as seen from Python: the one home of every default.

``workflow/schemas/config.schema.yaml`` declares each setting with its type, its bounds and its
default; Snakemake validates a config against it. Code that takes a section of the config
directly (the training entry points, which tests and users also call from Python with partial
settings) fills in the missing keys from the same file through :func:`with_defaults`, so no
default is written twice. The package reaches the schema through the link
``convergent/schemas`` → ``workflow/schemas``, which is installed as package data.

A section is named by its path of keys, e.g. ``"language"`` or ``("train", "moco")``. Filling
walks the schema: an object with ``properties`` takes each missing key's ``default`` (an object
default is filled in turn, so ``{}`` becomes the full nested section), keys come out in the
schema's order, and a key the schema does not know is an :class:`~convergent.errors.InputError`
naming it. The filled section is then validated with ``jsonschema``; a violation is an
``InputError`` naming the dotted key.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path

from .errors import InputError

SCHEMA_PATH = Path(__file__).parent / "schemas" / "config.schema.yaml"

#: A path element that steps into ``additionalProperties`` (e.g. any model under ``models``).
ANY = "*"


@cache
def schema() -> dict:
    """The workflow's configuration schema, read once."""
    import yaml

    # libyaml's loader where PyYAML has it: every job reads the schema at start-up
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(SCHEMA_PATH.read_text(), Loader=loader)


def _keys(path: str | Sequence[str]) -> tuple[str, ...]:
    return tuple(path.split(".")) if isinstance(path, str) else tuple(path)


def section_schema(path: str | Sequence[str]) -> dict:
    """The schema of the setting at ``path`` (dotted or a sequence of keys; ``*`` steps into
    ``additionalProperties``)."""
    node = schema()
    for i, key in enumerate(_keys(path)):
        child = (node.get("additionalProperties") if key == ANY
                 else node.get("properties", {}).get(key))
        if not isinstance(child, dict):
            raise KeyError(f"the config schema has no {'.'.join(_keys(path)[:i + 1])}")
        node = child
    return node


def default(path: str | Sequence[str]):
    """The schema's default of the setting at ``path`` (a fresh copy)."""
    node = section_schema(path)
    if "default" not in node:
        raise KeyError(f"the config schema gives {'.'.join(_keys(path))} no default")
    return copy.deepcopy(node["default"])


def with_defaults(path: str | Sequence[str], given: Mapping | None = None) -> dict:
    """The config section at ``path`` with ``given`` over the schema's defaults, validated.

    ``given`` may be partial or ``None`` (all defaults). Raises :class:`InputError` for a key
    the schema does not know (``"train.moco: unknown setting 'queue_size'; choose from …"``)
    and for a value the schema rejects (``"language.train.epochs: -1 is less than …"``).
    """
    keys = _keys(path)
    node = section_schema(keys)
    filled = _fill(node, {} if given is None else given, ".".join(keys))
    _validate(node, filled, keys)
    return filled


def _is_section(node: dict) -> bool:
    return "properties" in node


def _fill(node: dict, given, where: str):
    if not _is_section(node) or not isinstance(given, Mapping):
        return copy.deepcopy(given)  # a value, or a wrong type left for validation to name
    known = node["properties"]
    if node.get("additionalProperties") is False:
        unknown = [key for key in given if key not in known]
        if unknown:
            raise InputError(f"{where}: unknown setting {unknown[0]!r}; choose from "
                             + ", ".join(known))
    filled = {}
    for key, sub in known.items():
        if key in given:
            filled[key] = _fill(sub, given[key], f"{where}.{key}")
        elif "default" in sub:
            filled[key] = _fill(sub, sub["default"], f"{where}.{key}")
    for key in given:  # settings under additionalProperties (a schema, not false) pass through
        if key not in known:
            filled[key] = copy.deepcopy(given[key])
    return filled


def _first_violation(node: dict, value) -> tuple[str, str] | None:
    """(dotted path, message) of the first schema violation of ``value``, or None."""
    import jsonschema

    # the node's own schema, with the shared definitions its "$ref"s point to
    section = {**node, "$defs": schema().get("$defs", {})}
    errors = sorted(jsonschema.Draft202012Validator(section).iter_errors(value),
                    key=lambda e: list(map(str, e.absolute_path)))
    if not errors:
        return None
    return ".".join(map(str, errors[0].absolute_path)), errors[0].message


def _validate(node: dict, value, keys: tuple[str, ...]) -> None:
    if (problem := _first_violation(node, value)) is not None:
        where = ".".join(k for k in (*keys, problem[0]) if k)
        raise InputError(f"{where}: {problem[1]}")


def config_error(config: Mapping) -> str | None:
    """The first violation of the whole workflow config as one line naming the key
    (``config error at train.epochs: 0 is less than the minimum of 1``), or None."""
    if (problem := _first_violation(schema(), config)) is None:
        return None
    return f"config error at {problem[0] or '(top level)'}: {problem[1]}"
