"""Each model on its own training axis, in every figure and headline: mixed axes (vision epochs,
language epochs of another length, hub steps), every model of config/paper.yaml at all its
checkpoints, and random valid subsets of the paper's analyses and models, which must always give
a summary and figures that are drawn or say "n/a (why)", never a traceback."""

import json
import math
import subprocess
import sys

import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from convergent.analysis.summary import headline_table
from convergent.figures import FIGURES, draw
from convergent.plan.figures import FIGURE_NEEDS
from convergent.plan.models import model_rows

from smk import ROOT
from synthetic import tables_for, write_tables

PAPER = yaml.safe_load((ROOT / "config" / "paper.yaml").read_text())
ALL_ANALYSES = ["seeds", "cross", "training", "ood", "rotation"]

MIXED = {
    "models": {
        "vgg": {"arch": "vgg11", "width": 0.25},
        "lm": {"arch": "gptneox_tiny"},
        "pythia": {"arch": "gptneox", "source": "hub", "hub_id": "org/p{seed}",
                   "epochs": [0, 1, 2, 4, 1000, 143000], "seeds": [1, 2]},
    },
    "seeds": [0, 1], "train": {"epochs": 1}, "language": {"train": {"epochs": 3}},
    "stimuli": {"ood": ["contrast", "edge"]}, "theory": {"enabled": False},
}


def headline(table, start, model="all"):
    rows = table[table.headline.str.startswith(start) & (table.model == model)]
    assert len(rows) == 1, (start, model)
    return rows.iloc[0]


def titles(axes):
    return sorted(ax.get_title() for ax in axes)


def test_a_short_vision_run_beside_a_longer_language_run_keeps_its_trained_curves(tmp_path):
    plan, tables = tables_for(MIXED)
    axes = FIGURES["depth_profile"](tables, [tmp_path / "d.png"])
    assert titles(axes) == ["lm", "pythia", "vgg"]
    vgg = next(ax for ax in axes if ax.get_title() == "vgg")
    labels = {line.get_label() for line in vgg.get_lines()} | {
        c.get_label() for c in vgg.containers}
    assert "procrustes (trained)" in labels and "procrustes (untrained)" in labels
    table = headline_table(tables)
    for model in ("vgg", "lm", "pythia"):  # 0.4 → 0.8 at depth 0 on every model's own axis
        gain = headline(table, "procrustes gain from training, early layers (", model)
        assert gain.value > 0.3 and gain.note == ""
    assert headline(table, "procrustes gain from training, early layers (").note == \
        "mean over 3 of 3"
    share = headline(table, "share of the final alignment reached after epoch 1", "vgg")
    assert share.value == pytest.approx(1.0)  # the vgg's epoch 1 is its final checkpoint
    assert "pythia" not in set(table[table.headline.str.startswith("share of the final")].model)


def test_training_time_is_epochs_for_vision_and_tokens_for_language(tmp_path):
    _, tables = tables_for(MIXED)
    axes = FIGURES["training_time"](tables, [tmp_path / "t.png"])
    xlabel = {ax.get_title(): ax.get_xlabel() for ax in axes}
    assert xlabel == {"lm": "training tokens (log)", "pythia": "training tokens (log)",
                      "vgg": "training epochs (log)"}
    pythia = next(ax for ax in axes if ax.get_title() == "pythia")
    times = sorted(set(pythia.get_lines()[0].get_xdata()))
    assert times[-1] == 143000 * 2_097_152  # Pythia: step × 2,097,152 tokens
    lm = next(ax for ax in axes if ax.get_title() == "lm")
    assert sorted(set(lm.get_lines()[0].get_xdata())) == [0, 40_000, 80_000, 120_000]


def test_every_figure_draws_every_model_of_the_paper_preset(tmp_path):
    plan, tables = tables_for(PAPER)
    # every model with a seed pair (Pythia-70m has one seed: it appears in the cross analysis)
    models = sorted(m for m, spec in plan.models.items() if len(spec["seeds"]) > 1)
    assert len(models) == len(plan.models) - 1
    paths = write_tables(tables, tmp_path)
    for name in plan.figures:
        assert draw(name, paths, [tmp_path / f"{name}.png"]) is None, name
    per_model = {"depth_profile": models, "training": models, "training_time": models,
                 "training_change": models,
                 "distribution_shift": sorted(m for m in models
                                              if plan.models[m]["modality"] == "vision")}
    for name, expected in per_model.items():
        assert titles(FIGURES[name](tables, [tmp_path / "x.png"],
                                    corr=FIGURE_NEEDS[name].corr)) == expected, name
    beyond = FIGURES["beyond_cnns"](tables, [tmp_path / "b.png"])
    assert sorted(line.get_label().split(" (")[0] for line in beyond[0].get_lines()) == models
    over_training = FIGURES["cross_training"](tables, [tmp_path / "c.png"])
    (line,) = over_training[0].get_lines()
    assert line.get_label() == "pythia160m-s1 vs pythia70m-s0" and len(line.get_xdata()) == 154
    table = headline_table(tables)
    gains = table[table.headline.str.startswith("procrustes gain from training, deep layers (")]
    assert set(gains.model) == set(models) | {"all"}
    assert gains.value.notna().all()


def test_a_set_without_accuracy_and_no_trained_model_still_summarises(tmp_path):
    config = {"models": {"net": {"arch": "resnet18", "source": "checkpoint",
                                 "path": "c/{seed}/{epoch}.pt", "epochs": [0, 5]}},
              "align": {"analyses": ["seeds", "ood"]}, "stimuli": {"ood": ["edge", "contrast"]},
              "theory": {"enabled": False}}
    plan, tables = tables_for(config, no_accuracy={"edge", "contrast"})
    assert tables["training"].empty
    table = headline_table(tables)
    correlation = headline(table, "correlation of alignment with OOD accuracy")
    assert math.isnan(correlation.value) and "no OOD set has an accuracy" in correlation.note
    assert headline(table, "deep-layer drop under OOD").value > 0
    paths = write_tables(tables, tmp_path)
    why = draw("ood_accuracy", paths, [tmp_path / "o.png"])
    assert "no OOD set has an accuracy" in why and (tmp_path / "o.png").stat().st_size > 1000


PAPER_MODELS = sorted(PAPER["models"])


def _trimmed(models: list[str]) -> dict:
    """The paper preset on a subset of its models, with Pythia's axis cut to a few steps and the
    ViT's and MoCo's own recipes to a few epochs."""
    chosen = {}
    for name in models:
        spec = dict(PAPER["models"][name])
        if "epochs" in spec:
            spec["epochs"] = [0, 2, 1000, 143000]
        if "train" in spec:
            spec["train"] = {**spec["train"], "epochs": 3, "keep": [0, 1]}
        chosen[name] = spec
    return chosen


@settings(max_examples=6)
@given(analyses=st.lists(st.sampled_from(ALL_ANALYSES), min_size=1, unique=True),
       models=st.lists(st.sampled_from(PAPER_MODELS), min_size=1, max_size=3, unique=True),
       ood=st.lists(st.sampled_from(["edge", "contrast", "stylized"]), max_size=2, unique=True),
       accuracy_on_ood=st.booleans(), spearman=st.booleans())
def test_any_subset_of_the_paper_gives_a_summary_and_figures_without_a_traceback(
        tmp_path_factory, analyses, models, ood, accuracy_on_ood, spearman):
    config = {**PAPER, "models": _trimmed(models),
              "train": {**PAPER["train"], "epochs": 2, "keep": [0, 1]},  # and inside epoch 1
              "align": {"analyses": analyses, "corr": ["pearson", "spearman"] if spearman
                        else ["pearson"]},
              "stimuli": {**PAPER["stimuli"], "ood": ood}, "theory": {"enabled": False}}
    plan, tables = tables_for(config, no_accuracy=set() if accuracy_on_ood else set(ood))
    table = headline_table(tables)
    assert (table.value.notna() | table.note.str.startswith("n/a (")).all()
    folder = tmp_path_factory.mktemp("tables")
    paths = write_tables(tables, folder)
    for name in plan.figures:
        why = draw(name, paths, [folder / f"{name}.png"])
        assert why is None or not why.startswith("could not be computed"), (name, why)
        assert (folder / f"{name}.png").exists()
    assert isinstance(pd.read_parquet(paths[0]), pd.DataFrame)


def test_aggregate_and_summary_from_checkpoints_only_on_the_command_line(tmp_path):
    """No model trained by the workflow: no training logs at all (once a KeyError)."""

    plan, tables = tables_for({"models": {"net": {"arch": "resnet18", "source": "checkpoint",
                                                  "path": "c/{seed}/{epoch}.pt",
                                                  "epochs": [0, 5]}},
                               "theory": {"enabled": False}})
    tables["alignment"].to_parquet(tmp_path / "job.parquet")
    tables["accuracy"].to_csv(tmp_path / "acc.csv", index=False)
    out = [tmp_path / f"{name}.parquet" for name in ("alignment", "accuracy", "training",
                                                     "models")]
    cli = [sys.executable, "-m", "convergent"]
    done = subprocess.run([*cli, "aggregate", "--alignment", tmp_path / "job.parquet",
                           "--accuracy", tmp_path / "acc.csv", "--models",
                           json.dumps(model_rows(plan.models)), "--out", *out],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert pd.read_parquet(out[2]).empty and len(pd.read_parquet(out[3])) == 1
    done = subprocess.run([*cli, "summary", "--tables", *out, "--out", tmp_path / "s.md",
                           "--headlines", tmp_path / "h.csv"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "| procrustes gain from training, early layers (depth < 0.5) | net |" in (
        tmp_path / "s.md").read_text()
