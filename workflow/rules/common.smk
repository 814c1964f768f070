# Config → validated settings, every output path (in one place), and the job tables.
import itertools
import json
import shlex
import sys

import pandas as pd
import yaml
from snakemake.utils import validate

with open(workflow.source_path("../schemas/config.schema.yaml")) as _schema:
    SCHEMA = yaml.safe_load(_schema)


def config_error(config, schema):
    """The first schema violation as one line naming the key, or None."""
    import jsonschema

    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(config),
                    key=lambda e: list(map(str, e.absolute_path)))
    if not errors:
        return None
    key = ".".join(map(str, errors[0].absolute_path)) or "(top level)"
    return f"config error at {key}: {errors[0].message}"


if (_problem := config_error(config, SCHEMA)) is not None:
    sys.exit(_problem)
validate(config, schema="../schemas/config.schema.yaml", set_default=True)

_MODEL_SCHEMA = SCHEMA["properties"]["models"]["additionalProperties"]
MODEL_DEFAULTS = {key: spec["default"] for key, spec in _MODEL_SCHEMA["properties"].items()
                  if "default" in spec}

def _models():
    from convergent.model_plan import groups, resolve_models

    try:
        models = resolve_models(config, MODEL_DEFAULTS)
    except ValueError as err:
        sys.exit(f"config error at {err}")
    return models, groups(models)


MODELS, CROSS_GROUPS = _models()


def trained(modality):
    """Models of a modality trained by this workflow."""
    return [m for m, s in MODELS.items() if s["source"] == "train" and s["modality"] == modality]


VISION_TRAINED, LANGUAGE_TRAINED = trained("vision"), trained("language")
# the shared training axes of models trained here (a rule's outputs cannot vary per model)
VISION_EPOCHS = list(range(config["train"]["epochs"] + 1))
LANGUAGE_EPOCHS = list(range(config["language"]["train"]["epochs"] + 1))
ID = "test"  # the in-distribution image set: the test split
TEXT = "sentences"  # the language models' stimuli
OOD = config["stimuli"]["ood"]
ANALYSES = config["align"]["analyses"]


# ---- every path of the workflow ----------------------------------------------------------
RESULTS, LOGS = config["results"], config["logs"]
NET = "{model}/seed{seed}"
PAIR = "{model_x}-seed{seed_x}__{model_y}-seed{seed_y}"
PATHS = {
    "state": f"{RESULTS}/train_state/{NET}",
    "checkpoint": f"{RESULTS}/checkpoints/{NET}/epoch{{epoch}}.pt",
    "lm_checkpoint": f"{RESULTS}/checkpoints/{NET}/epoch{{epoch}}",
    "train_log": f"{RESULTS}/checkpoints/{NET}/accuracy.csv",
    "epoch_dir": f"{RESULTS}/activations/{NET}/epoch{{epoch}}",
    "activations": f"{RESULTS}/activations/{NET}/epoch{{epoch}}/{{stimset}}.safetensors",
    "accuracy": f"{RESULTS}/activations/{NET}/epoch{{epoch}}/{{stimset}}.accuracy.csv",
    "alignment": f"{RESULTS}/alignment/{{analysis}}/{{corr}}/{PAIR}/epoch{{epoch}}/{{stimset}}.parquet",
    "table": f"{RESULTS}/tables/{{table}}.{{ext}}",
    "figure": f"{RESULTS}/figures/{{figure}}.{{ext}}",
    "summary": f"{RESULTS}/summary.md",
    "theory_run": f"{RESULTS}/theory/runs/{{experiment}}/{{run}}/seed{{seed}}.parquet",
    "theory_fit": f"{RESULTS}/theory/runs/{{experiment}}/{{run}}/seed{{seed}}.fit.csv",
    "theory": f"{RESULTS}/theory",
}
LOG = {
    "train": f"{LOGS}/train/{NET}.log",
    "extract": f"{LOGS}/extract/{NET}/epoch{{epoch}}/{{stimset}}.log",
    "align": f"{LOGS}/align/{{analysis}}/{{corr}}/{PAIR}/epoch{{epoch}}/{{stimset}}.log",
    "aggregate": f"{LOGS}/aggregate.log",
    "figure": f"{LOGS}/figures/{{figure}}.log",
    "summary": f"{LOGS}/summary.log",
    "theory_run": f"{LOGS}/theory/{{experiment}}/{{run}}/seed{{seed}}.log",
    "theory_collect": f"{LOGS}/theory/collect.log",
    "theory_figure": f"{LOGS}/theory/{{figure}}.log",
}


def _alternatives(values):
    import re

    return "|".join(re.escape(v) for v in sorted(map(str, values), key=len, reverse=True)) or "(?!)"


wildcard_constraints:
    model=_alternatives(MODELS),
    model_x=_alternatives(MODELS),
    model_y=_alternatives(MODELS),
    seed=r"\d+",
    seed_x=r"\d+",
    seed_y=r"\d+",
    epoch=r"\d+",
    stimset=_alternatives([ID, TEXT, *OOD]),
    analysis="seeds|cross|training|ood|rotation",
    corr="pearson|spearman",
    experiment="architectures|sweep|final_distance|digits",
    run=r"[A-Za-z0-9_.\-]+",


# ---- job tables -----------------------------------------------------------------------------
def seed_pairs(model):
    return [(model, a, model, b) for a, b in itertools.combinations(MODELS[model]["seeds"], 2)]


def cross_pairs():
    """Every pair of models of a group, a model with itself included: the same model across
    its first two seeds, two models at their first seeds."""
    pairs = []
    for group in CROSS_GROUPS:
        for a, b in itertools.combinations_with_replacement(group, 2):
            seeds_a, seeds_b = MODELS[a]["seeds"], MODELS[b]["seeds"]
            if a == b and len(seeds_a) < 2:
                continue
            pairs.append((a, seeds_a[0], b, seeds_a[1] if a == b else seeds_b[0]))
    return pairs


def _settings(analysis, model):
    """(epoch, stimulus set) of one analysis for one model."""
    spec = MODELS[model]
    epochs, final, stimset = spec["epochs"], spec["epochs"][-1], spec["stimset"]
    return {
        "seeds": [(e, stimset) for e in sorted({epochs[0], final})],
        "cross": [(final, stimset)],
        "training": [(e, stimset) for e in epochs],
        "ood": [(final, s) for s in OOD] if spec["modality"] == "vision" else [],
        "rotation": [(final, stimset)],
    }[analysis]


def alignment_jobs() -> pd.DataFrame:
    """One row per align job: (analysis, corr, model pair, epoch, stimulus set)."""
    rows = []
    for analysis in ANALYSES:
        if analysis == "cross":
            pairs = cross_pairs()
        else:
            pairs = [p for m in MODELS for p in seed_pairs(m)]
        for corr in config["align"]["corr"]:
            for mx, sx, my, sy in pairs:
                for epoch, stimset in _settings(analysis, mx):
                    rows.append(dict(analysis=analysis, corr=corr, model_x=mx, seed_x=sx,
                                     model_y=my, seed_y=sy, epoch=epoch, stimset=stimset))
    return pd.DataFrame(rows, columns=["analysis", "corr", "model_x", "seed_x", "model_y",
                                       "seed_y", "epoch", "stimset"])


ALIGN_JOBS = alignment_jobs()


def extraction_jobs() -> pd.DataFrame:
    """Every (model, seed, epoch, stimulus set) an align job reads."""
    sides = [ALIGN_JOBS[[f"model_{s}", f"seed_{s}", "epoch", "stimset"]].set_axis(
        ["model", "seed", "epoch", "stimset"], axis=1) for s in "xy"]
    return pd.concat(sides).drop_duplicates().sort_values(
        ["model", "seed", "epoch", "stimset"]).reset_index(drop=True)


EXTRACT_JOBS = extraction_jobs()


# ---- input functions and params ---------------------------------------------------------------
def model_input(wildcards):
    """The checkpoint file (or model folder) an extract job reads, when it is one of this
    workflow's or the user's; hub models and torchvision weights have none."""
    spec = MODELS[wildcards.model]
    at = dict(seed=wildcards.seed, epoch=wildcards.epoch)
    if spec["source"] == "train":
        key = "lm_checkpoint" if spec["modality"] == "language" else "checkpoint"
        return [PATHS[key].format(model=wildcards.model, **at)]
    if spec["source"] == "checkpoint":
        return [spec["path"].format(**at)]
    return []


def model_source(wildcards):
    """What `convergent extract` loads for (model, seed, epoch): a JSON source."""
    spec = MODELS[wildcards.model]
    if checkpoint := model_input(wildcards):
        return as_json({"checkpoint": checkpoint[0]})
    if spec["source"] == "torchvision":
        return as_json({"arch": spec["arch"], "weights": spec["weights"]})
    at = dict(seed=wildcards.seed, epoch=wildcards.epoch)
    return as_json({"hub_id": spec["hub_id"].format(**at),
                    "revision": spec["revision"].format(**at)})


def training_logs():
    return [PATHS["train_log"].format(model=m, seed=s) for m in VISION_TRAINED + LANGUAGE_TRAINED
            for s in MODELS[m]["seeds"]]


def as_json(section):
    return json.dumps(section, sort_keys=True)


def labels(**values):
    """--label KEY=VALUE arguments, quoted for the shell."""
    return " ".join(f"--label {shlex.quote(f'{k}={v}')}" for k, v in values.items())


def side(wildcards, s):
    return PATHS["activations"].format(model=getattr(wildcards, f"model_{s}"),
                                       seed=getattr(wildcards, f"seed_{s}"),
                                       epoch=wildcards.epoch, stimset=wildcards.stimset)


def align_metrics(wildcards):
    if wildcards.analysis == "rotation":
        return "permutation"
    return ",".join(config["align"]["metrics"][wildcards.analysis])


def table_paths(ext):
    return [PATHS["table"].format(table=t, ext=ext) for t in ("alignment", "accuracy", "training")]


# ---- figures: what the config's results can feed, and why the rest is left out -------------
def _figure_plan():
    from convergent.figure_plan import FIGURE_NEEDS, left_out

    missing = left_out(ANALYSES, config["align"]["metrics"], config["align"]["corr"], OOD,
                       MODELS)
    return [name for name in FIGURE_NEEDS if name not in missing], missing


FIGURES, LEFT_OUT = _figure_plan()


def figure_paths(name):
    return [PATHS["figure"].format(figure=name, ext=ext) for ext in ("png", "svg")]


# ---- the two-point theory: one job per run, from convergent.theory_plan -------------------
def _theory_plan():
    from convergent.theory_plan import theory_figures, theory_runs

    theory = config["theory"]
    try:
        runs = theory_runs(theory)
    except ValueError as err:
        sys.exit(f"config error at {err}")
    return {(r["experiment"], r["run"], str(r["seed"])): r for r in runs}, theory_figures(theory)


THEORY_RUNS, THEORY_FIGURES = _theory_plan()
THEORY_TABLES = [f"{PATHS['theory']}/{name}" for name in
                 ("trajectories.parquet", "fits.csv", "final_distance.csv", "sweep.csv")]


def theory_run_paths(kind):
    return [PATHS[f"theory_{kind}"].format(experiment=e, run=r, seed=s)
            for e, r, s in THEORY_RUNS]


def theory_spec(wildcards):
    return as_json(THEORY_RUNS[(wildcards.experiment, wildcards.run, wildcards.seed)])


def theory_figure_paths(name):
    return [f"{PATHS['theory']}/figures/{name}.{ext}" for ext in ("png", "svg")]


def theory_targets():
    if not THEORY_RUNS:
        return []
    return (THEORY_TABLES + [f"{PATHS['theory']}/summary.md"]
            + [path for name in THEORY_FIGURES for path in theory_figure_paths(name)])


def all_targets():
    theory = theory_targets() if config["theory"]["enabled"] else []
    return (table_paths("parquet") + table_paths("csv") + [PATHS["summary"]]
            + [path for name in FIGURES for path in figure_paths(name)] + theory)
