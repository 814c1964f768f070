"""The theory's runs as a job table, from the config section ``theory`` (schema defaults filled).

Read at DAG time by the workflow, so it imports neither torch nor scipy. Each run is a plain dict
(its *spec*) holding everything that decides its result, so that the workflow passes it as a rule
parameter and Snakemake reruns exactly the runs a config change touches.

Experiments and their run names:

- ``architectures``: one run per selected variant and seed (run = the variant's name);
- ``sweep``: the sweep's variant at each gain (run = ``gain<g>``), learning rate scaled by the
  initial tangent-kernel scale relative to ``reference_gain`` when ``lr_scale`` is ``ntk``;
- ``final_distance``: for each variant of ``final_distance.architectures``, ``trials`` base runs
  (seeds 0 … trials − 1) at the default distances, each fitted, whose rates averaged give the
  variant's η_h/η_y (run = ``<variant>_base``); then every (dx, dy) of the grid, one trial each
  (run = ``<variant>_dx<dx>_dy<dy>``, the grid's ``seed``), not fitted; all trained for the
  grid's own (longer) epochs to converge, inputs placed as ``final_distance.placement`` says;
- ``depth``: each variant of ``depth.architectures`` × the first ``depth.seeds`` seeds, h
  recorded at every hidden layer and the theory fitted at each (run = the variant's name);
- ``digits``: the real-data pair (run = ``digits``).
"""

from __future__ import annotations

import itertools

DEFAULT_DX, DEFAULT_DY = 1.0, 0.5 ** 0.5
EXPERIMENTS = ("architectures", "sweep", "final_distance", "depth", "digits")


def _number(value: float) -> str:
    """A float as a stable file-name token: 1.0 → 1, 0.25 → 0.25."""
    return f"{float(value):g}"


def variant(theory: dict, name: str) -> dict:
    """The variant ``name`` with the config's ``max_width`` applied (the demo's reduction)."""
    spec = dict(theory["variants"][name])
    spec.setdefault("bias", True)
    if spec["layer"] > spec["depth"]:
        raise ValueError(f"theory.variants.{name}.layer: {spec['layer']} is deeper than the "
                         f"network ({spec['depth']} hidden layers)")
    cap = theory.get("max_width")
    if cap and "width" in spec:
        spec["width"] = min(spec["width"], cap)
    return spec


def _two_point(theory: dict, experiment: str, run: str, seed: int, name: str, *,
               gain: float | None = None, dx: float = DEFAULT_DX, dy: float = DEFAULT_DY,
               fit: bool = True, epochs: int | None = None, **extra) -> dict:
    spec = variant(theory, name)
    if gain is not None:
        spec["gain"] = gain
    return {"experiment": experiment, "run": run, "seed": seed, "architecture": name,
            "variant": spec, "lr": spec.pop("lr"), "epochs": epochs or theory["epochs"],
            "record_every": theory["record_every"], "dx": dx, "dy": dy, "fit": fit, **extra}


def _hidden_layers(spec: dict) -> int:
    """How many hidden layers a variant has (its ``depth``: layers, blocks or convolutions)."""
    return spec["depth"]


def theory_runs(theory: dict) -> list[dict]:
    """Every run of the configured experiments, in a stable order."""
    runs = []
    grid, depth = theory["final_distance"], theory["depth"]
    for key, names in (("architectures", theory["architectures"]),
                       ("sweep.architecture", [theory["sweep"]["architecture"]]),
                       ("final_distance.architectures", grid["architectures"]),
                       ("depth.architectures", depth["architectures"])):
        unknown = [n for n in names if n not in theory["variants"]]
        if unknown:
            raise ValueError(f"theory.{key}: no variant named {', '.join(unknown)} "
                             f"(variants: {', '.join(theory['variants'])})")
    if "architectures" in theory["experiments"]:
        for name, seed in itertools.product(theory["architectures"], theory["seeds"]):
            runs.append(_two_point(theory, "architectures", name, seed, name))
    if "sweep" in theory["experiments"]:
        sweep = theory["sweep"]
        for gain, seed in itertools.product(sweep["gains"], theory["seeds"]):
            runs.append(_two_point(theory, "sweep", f"gain{_number(gain)}", seed,
                                   sweep["architecture"], gain=gain, lr_scale=sweep["lr_scale"],
                                   reference_gain=sweep["reference_gain"]))
    if "final_distance" in theory["experiments"]:
        placement = grid["placement"]
        for name in grid["architectures"]:
            for seed in range(grid["trials"]):
                runs.append(_two_point(theory, "final_distance", f"{name}_base", seed, name,
                                       epochs=grid["epochs"], placement=placement))
            for dx, dy in itertools.product(grid["dx"], grid["dy"]):
                runs.append(_two_point(theory, "final_distance",
                                       f"{name}_dx{_number(dx)}_dy{_number(dy)}", grid["seed"],
                                       name, dx=dx, dy=dy, fit=False, epochs=grid["epochs"],
                                       placement=placement))
    if "depth" in theory["experiments"]:
        for name, seed in itertools.product(depth["architectures"],
                                            theory["seeds"][:depth["seeds"]]):
            spec = variant(theory, name)
            runs.append(_two_point(theory, "depth", name, seed, name,
                                   layers=list(range(1, _hidden_layers(spec) + 1))))
    if "digits" in theory["experiments"]:
        digits = dict(theory["digits"])
        spec = {key: digits.pop(key) for key in ("depth", "width", "activation", "gain", "layer")}
        for seed in theory["seeds"][:digits.pop("seeds")]:
            runs.append({"experiment": "digits", "run": "digits", "seed": seed,
                         "architecture": f"mlp{spec['depth']}x{spec['width']}",
                         "variant": spec, "fit": True, **digits})
    return runs


def theory_batches(runs: list[dict], per_job: int) -> dict[str, list[dict]]:
    """The runs in jobs of ``per_job`` (theory.runs_per_job), each job inside one experiment
    and named by it and its number (``final_distance2``), runs in :func:`theory_runs` order."""
    by_experiment: dict[str, list[dict]] = {}
    for run in runs:
        by_experiment.setdefault(run["experiment"], []).append(run)
    return {f"{experiment}{k // per_job}": own[k:k + per_job]
            for experiment, own in by_experiment.items() for k in range(0, len(own), per_job)}


#: Each theory figure → the experiment whose runs it draws.
THEORY_FIGURE_NEEDS = {"theory_trajectories": "architectures", "theory_loss": "architectures",
                       "theory_sweep": "sweep", "theory_final_distance": "final_distance",
                       "theory_depth": "depth", "theory_digits": "digits"}


def theory_figures(theory: dict) -> list[str]:
    """The theory figures the configured experiments can feed."""
    return [name for name, needs in THEORY_FIGURE_NEEDS.items()
            if needs in theory["experiments"]]
