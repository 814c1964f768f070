"""Result tables shaped by a config's plan, without running anything: one alignment row per layer
pair each align job of the plan would write, accuracies per extraction job, training logs for the
models trained here, and the models table. Scores rise along each model's own axis and fall with
depth, so the numbers are known by construction."""

from __future__ import annotations

import copy
import itertools

import numpy as np
import pandas as pd
import yaml
from snakemake.utils import validate

from convergent.metrics.significance import NULL_COLUMNS
from convergent.plan import make_plan
from convergent.plan.models import matched_ood, model_rows

from smk import ROOT

SCHEMA_PATH = ROOT / "workflow" / "schemas" / "config.schema.yaml"
_SCHEMA = yaml.safe_load(SCHEMA_PATH.read_text())
MODEL_DEFAULTS = {k: v["default"] for k, v in
                  _SCHEMA["properties"]["models"]["additionalProperties"]["properties"].items()
                  if "default" in v}
ALIGNMENT_COLUMNS = ["analysis", "model_x", "seed_x", "model_y", "seed_y", "epoch", "stimset",
                     "layer_x", "layer_y", "depth_x", "depth_y", "metric", "corr", "score",
                     "score_xy", "score_yx", "x_units", "y_units", "index_x", "index_y", "fold_0",
                     "fold_1"]
#: Layers per family: small, so that paper-sized plans stay quick to tabulate.
LAYERS = {"cnn": 5, "vit": 4, "language": 4}


def validated(config: dict) -> dict:
    config = copy.deepcopy(config)
    validate(config, str(SCHEMA_PATH), set_default=True)
    return config


def plan_for(config: dict):
    return make_plan(validated(config), MODEL_DEFAULTS)


def progress(spec: dict, epoch) -> float:
    """Where a checkpoint lies on its model's own axis, 0 (first) … 1 (last)."""
    epochs = spec["epochs"]
    return float(epochs.index(epoch)) / max(len(epochs) - 1, 1)


def _score(spec, epoch, depth):
    return 0.4 + 0.4 * progress(spec, epoch) - 0.2 * depth


def alignment_rows(plan, config: dict) -> pd.DataFrame:
    metrics = config["align"]["metrics"]
    rows = []
    for job, corr in itertools.product(plan.align_jobs.itertuples(), config["align"]["corr"]):
        sx, sy = plan.models[job.model_x], plan.models[job.model_y]
        nx, ny = LAYERS[sx["family"]], LAYERS[sy["family"]]
        names = (["permutation", "permutation_rotated"] if job.analysis == "rotation"
                 else metrics[job.analysis])
        pairs = ([(i, j) for i in range(nx) for j in range(ny)] if job.analysis == "cross"
                 else [(i, i) for i in range(min(nx, ny))])
        for i, j in pairs:
            dx, dy = i / (nx - 1), j / (ny - 1)
            base = _score(sx, job.epoch, dx) - 0.3 * abs(dx - dy)
            if job.analysis == "ood" and matched_ood(job.stimset) is None:
                base -= 0.1 * dx  # deep layers diverge under shift
            for metric in names:
                score = base * (0.8 if metric == "permutation_rotated" else 1.0)
                rows.append(dict(analysis=job.analysis, model_x=job.model_x, seed_x=job.seed_x,
                                 model_y=job.model_y, seed_y=job.seed_y, epoch=job.epoch,
                                 stimset=job.stimset, layer_x=f"l{i}", layer_y=f"l{j}",
                                 depth_x=dx, depth_y=dy, metric=metric, corr=corr,
                                 score=score, score_xy=np.nan, score_yx=np.nan, x_units=8,
                                 y_units=8, index_x=i, index_y=j, fold_0=score - 0.01,
                                 fold_1=score + 0.01,
                                 **_test(config["align"], job.analysis, metric, base)))
    return pd.DataFrame(rows, columns=ALIGNMENT_COLUMNS + NULL_COLUMNS)


def _test(align: dict, analysis: str, metric: str, base: float) -> dict:
    """The null columns the engine would add: a shuffle null at a tenth of the score where the
    analysis draws one for this metric; the rotation draws' spread beside the rotated mean."""
    draws = align["null_draws"].get(analysis, 0) if metric in align["null_metrics"] else 0
    if metric == "permutation_rotated" and align["rotations"] > 1:
        draws, mean = align["rotations"], base * 0.8
    else:
        mean = 0.1 * base
    if not draws:
        return dict.fromkeys(NULL_COLUMNS, np.nan)
    return dict(null_mean=mean, null_sd=0.01, null_draws=draws, p_value=1 / (draws + 1))


def accuracy_rows(plan, no_accuracy: set[str] = frozenset()) -> pd.DataFrame:
    """Accuracy per extraction; NaN for MoCo and on the sets named in ``no_accuracy``."""
    rows = []
    for job in plan.extract_jobs.itertuples():
        spec = plan.models[job.model]
        undefined = spec.get("objective") == "moco" or job.stimset in no_accuracy
        rows.append(dict(model=job.model, seed=job.seed, epoch=job.epoch, stimset=job.stimset,
                         accuracy=np.nan if undefined else 0.1 + 0.8 * progress(spec, job.epoch)))
    return pd.DataFrame(rows, columns=["model", "seed", "epoch", "stimset", "accuracy"])


def training_rows(plan) -> pd.DataFrame:
    rows = []
    for name in plan.trained("vision") + plan.trained("language"):
        spec = plan.models[name]
        for seed in spec["seeds"]:
            for epoch in spec["epochs"]:
                for split in ("train", "test"):
                    row = dict(model=name, seed=seed, epoch=epoch, split=split, loss=1.0,
                               accuracy=0.1 + 0.8 * progress(spec, epoch))
                    if spec["modality"] == "language":
                        row["tokens"] = epoch * 40_000
                    rows.append(row)
    return pd.DataFrame(rows, columns=["model", "seed", "epoch", "split", "loss", "accuracy"]
                        + (["tokens"] if plan.trained("language") else []))


def tables_for(config: dict, no_accuracy: set[str] = frozenset()):
    """The plan of ``config`` and the four result tables it would produce."""
    plan = plan_for(config)
    config = validated(config)
    return plan, {"alignment": alignment_rows(plan, config),
                  "accuracy": accuracy_rows(plan, no_accuracy),
                  "training": training_rows(plan),
                  "models": pd.DataFrame(model_rows(plan.models))}


def write_tables(tables: dict[str, pd.DataFrame], folder) -> list:
    paths = []
    for name, table in tables.items():
        path = folder / f"{name}.parquet"
        table.to_parquet(path)
        paths.append(path)
    return paths
