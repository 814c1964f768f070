"""Every figure and the summary, on a small synthetic result table whose numbers are known by
construction; the tables read from the files given; the numbers without matplotlib; and the plan
of which figures a config can feed."""

import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from convergent.analysis.summary import headline_table, write_summary
from convergent.analysis.tables import load_tables
from convergent.errors import InputError
from convergent.figures import FIGURES, draw
from convergent.plan.figures import FIGURE_NEEDS, left_out

LAYERS = {"netA": 4, "netB": 5}
SEED_PAIRS = [(0, 1), (0, 2), (1, 2)]
FINAL = 2
OOD = {"contrast": (0.68, 0.3), "low-pass": (0.72, 0.6)}  # deep-layer score, accuracy


def row(analysis, model_x, seed_x, model_y, seed_y, epoch, i, j, metric, score, corr="pearson",
        stimset="test", null=(np.nan, np.nan, np.nan)):
    """One alignment row; ``null``: its test's (null_mean, null_sd, null_draws)."""
    nx, ny = LAYERS[model_x], LAYERS[model_y]
    mean, sd, draws = null
    return dict(analysis=analysis, model_x=model_x, seed_x=seed_x, model_y=model_y,
                seed_y=seed_y, epoch=epoch, stimset=stimset, layer_x=f"l{i}", layer_y=f"l{j}",
                depth_x=i / (nx - 1), depth_y=j / (ny - 1), metric=metric, corr=corr,
                score=score, index_x=i, index_y=j, fold_0=score - 0.01, fold_1=score,
                fold_2=score + 0.01, null_mean=mean, null_sd=sd, null_draws=draws,
                p_value=np.nan if draws != draws else 1 / (draws + 1))


def seeds_null(metric, i):
    """The shuffle null of a seeds row: permutation only, far below the score except at layer
    0, where the score (0.6) is one null sd above it (t ≈ 1: not significant)."""
    if metric != "permutation":
        return (np.nan, np.nan, np.nan)
    return (0.55 if i == 0 else 0.1, 0.05, 20)


def corresponding(model, corr):
    """seeds, training, ood and rotation rows of one model."""
    rows = []
    for (a, b), i in ((pair, i) for pair in SEED_PAIRS for i in range(LAYERS[model])):
        deep = i / (LAYERS[model] - 1) >= 0.5
        for epoch, base in ((0, 0.5), (FINAL, 0.8)):
            for metric, offset in (("linear", 0.1), ("procrustes", 0.0), ("permutation", -0.2)):
                rows.append(row("seeds", model, a, model, b, epoch, i, i, metric, base + offset,
                                corr, null=seeds_null(metric, i) if epoch else (np.nan,) * 3))
        for epoch, score in ((0, 0.5), (1, 0.7), (FINAL, 0.8)):
            rows.append(row("training", model, a, model, b, epoch, i, i, "procrustes", score,
                            corr))
        for stimset, (score, _) in OOD.items():
            rows.append(row("ood", model, a, model, b, FINAL, i, i, "procrustes",
                            score if deep else 0.8, corr, stimset))
            # the in-distribution subset of the set's size: deep layers lose 0.05 by size alone
            rows.append(row("ood", model, a, model, b, FINAL, i, i, "procrustes",
                            0.75 if deep else 0.8, corr, f"test@{stimset}"))
        # trained: native 0.6 against 20 rotations at 0.5 ± 0.02 (a privileged basis);
        # untrained: native and rotated alike (none)
        for epoch, native, rotated in ((0, 0.3, 0.3), (FINAL, 0.6, 0.5)):
            rows.append(row("rotation", model, a, model, b, epoch, i, i, "permutation", native,
                            corr))
            rows.append(row("rotation", model, a, model, b, epoch, i, i,
                            "permutation_rotated", rotated, corr, null=(rotated, 0.02, 20)))
    return rows


def cross(model_x, seed_x, model_y, seed_y):
    """Every layer pair, best where the normalised depths agree."""
    nx, ny = LAYERS[model_x], LAYERS[model_y]
    return [row("cross", model_x, seed_x, model_y, seed_y, FINAL, i, j, metric,
                1 - abs(i / (nx - 1) - j / (ny - 1)))
            for i in range(nx) for j in range(ny) for metric in ("procrustes", "softmatch")]


@pytest.fixture(scope="module")
def tables():
    rows = [r for corr in ("pearson", "spearman") for m in LAYERS for r in corresponding(m, corr)]
    rows += cross("netA", 0, "netA", 1) + cross("netA", 0, "netB", 0) + cross("netB", 0, "netB", 1)
    # netA vs netB also followed over training: best matches reach the same depth at the end
    rows += [{**r, "epoch": e, "score": 0.5} for e in (0, 1) for r in cross("netA", 0, "netB", 0)]
    accuracy = [dict(model=m, seed=s, epoch=FINAL, stimset=name, accuracy=acc)
                for m in LAYERS for s in range(3)
                for name, acc in [("test", 0.9)] + [(k, v[1]) for k, v in OOD.items()]]
    training = [dict(model=m, seed=s, epoch=e, split=split, loss=1.0, accuracy=acc)
                for m in LAYERS for s in range(3) for e, acc in enumerate((0.1, 0.6, 0.9))
                for split in ("train", "test")]
    models = [dict(model="netA", arch="resnet18", family="cnn", modality="vision",
                   objective="supervised", source="train", untrained=0, trained=FINAL, seeds=3,
                   axis="epoch", tokens_per_step=None),
              dict(model="netB", arch="vit_small", family="vit", modality="vision",
                   objective="supervised", source="train", untrained=0, trained=FINAL, seeds=3,
                   axis="epoch", tokens_per_step=None)]
    return {"alignment": pd.DataFrame(rows), "accuracy": pd.DataFrame(accuracy),
            "training": pd.DataFrame(training), "models": pd.DataFrame(models)}


PANELS = {"depth_profile": 2, "cross_grids": 6, "training": 2, "distribution_shift": 2,
          "ood_accuracy": 2, "rotation": 2, "depth_profile_spearman": 2,
          "distribution_shift_spearman": 2, "beyond_cnns": 2, "training_time": 2,
          "training_change": 2, "cross_training": 1}


# brain needs recorded responses, which these tables have none of: tests/test_responses.py
@pytest.mark.parametrize("name", [name for name in FIGURES if name != "brain"])
def test_each_figure_is_written_with_its_panels(tables, tmp_path, name):
    out = [tmp_path / f"{name}.png", tmp_path / f"{name}.svg"]
    axes = FIGURES[name](tables, out, corr=FIGURE_NEEDS[name].corr)
    assert len(axes) == PANELS[name]
    assert all(p.stat().st_size > 5000 for p in out)
    assert all(ax.has_data() for ax in axes)


def test_the_rotation_table_only_where_told(tables, tmp_path):
    FIGURES["rotation"](tables, [tmp_path / "rotation.png"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rotation.png"]
    FIGURES["rotation"](tables, [tmp_path / "r.png"], table_out=tmp_path / "numbers.csv")
    table = pd.read_csv(tmp_path / "numbers.csv")
    assert list(table.model) == ["netA"] * 8 + ["netB"] * 10  # trained, then untrained
    assert list(table.end[:8]) == ["trained"] * 4 + ["untrained"] * 4
    trained, untrained = table[table.end == "trained"], table[table.end == "untrained"]
    assert np.allclose(trained[["native", "rotated", "change_pct", "rotated_sd"]],
                       [0.6, 0.5, 20.0, 0.02])
    assert trained.holm.all() and (trained.pairs == 3).all()
    assert np.allclose(trained.p_value, 1 / 21) and (trained.p_param < 1e-3).all()
    assert not untrained.holm.any() and np.allclose(untrained.p_param, 0.5)


def test_families_come_from_the_models_table(tables, tmp_path):
    axes = FIGURES["beyond_cnns"](tables, [tmp_path / "b.png"])
    labels = [line.get_label() for line in axes[0].get_lines()]
    assert labels == ["netA (CNN)", "netB (ViT)"]
    assert [line.get_linestyle() for line in axes[0].get_lines()] == ["-", "--"]
    tables["alignment"].to_parquet(tmp_path / "alignment.parquet")
    with pytest.raises(InputError, match="'models' table was not given"):
        draw("beyond_cnns", [tmp_path / "alignment.parquet"], [tmp_path / "c.png"])


def headline(table, name_start, model="all"):
    row = table[table.headline.str.startswith(name_start) & (table.model == model)]
    assert len(row) == 1, (name_start, model)
    return row.iloc[0]


def test_headline_numbers_known_by_construction(tables):
    table = headline_table(tables)
    for model in ("netA", "netB", "all"):
        assert headline(table, "procrustes gain from training, early layers (", model).value \
            == pytest.approx(0.3)  # 0.5 → 0.8
        assert headline(table, "procrustes gain from training, deep layers, %", model).value \
            == pytest.approx(60.0)  # +0.3 of 0.5
    assert headline(table, "linear − procrustes").value == pytest.approx(0.1)
    assert headline(table, "procrustes − permutation").value == pytest.approx(0.2)
    assert headline(table, "deep-layer drop").value == pytest.approx(0.05)  # 0.75 vs 0.7
    assert headline(table, "correlation of alignment").value == pytest.approx(1.0)
    assert headline(table, "share of layers best matched", "netA vs netB").value == 1.0
    assert headline(table, "share of the final alignment").value == pytest.approx(0.7 / 0.8)
    assert headline(table, "change of the permutation score").value == pytest.approx(20.0)
    assert headline(table, "change of the permutation score").note == "mean over 2 of 2"
    chance = headline(table, "share of layers with permutation above chance", "netA")
    assert chance.value == pytest.approx(3 / 4)  # layer 0 sits one null sd above chance
    assert chance.note == "3 of 4 layers; stimulus shuffles, K = 20"
    assert headline(table, "share of layers with permutation above chance", "netB").value == \
        pytest.approx(4 / 5)
    assert headline(table, "share of layers losing permutation score under rotation (Holm 0.05, "
                    "trained").value == 1.0
    assert headline(table, "share of layers losing permutation score under rotation (Holm 0.05, "
                    "untrained").value == 0.0
    assert list(table.columns) == ["headline", "model", "value", "note"]


def test_summary_lists_left_out_figures_and_the_config(tables, tmp_path):
    text = write_summary(tables, tmp_path / "summary.md", {"beyond_cnns": "no ViT"},
                         {"seeds": [0, 1]}, headlines=tmp_path / "headlines.csv")
    assert ("| procrustes gain from training, early layers (depth < 0.5) | all | +0.300 | "
            "mean over 2 of 2 |") in text
    assert "| procrustes gain from training, deep layers, % of untrained | netB | +60.000 |" \
        in text
    assert "- `beyond_cnns`: no ViT" in text and "seeds:\n- 0\n- 1" in text
    assert (tmp_path / "summary.md").read_text() == text
    written = pd.read_csv(tmp_path / "headlines.csv")  # an empty note reads back as NaN
    pd.testing.assert_frame_equal(written.assign(note=written.note.fillna("")),
                                  headline_table(tables), check_dtype=False)


def test_a_headline_without_its_data_says_why(tables):
    alignment = tables["alignment"]
    table = headline_table({**tables, "alignment": alignment[alignment.analysis != "ood"]})
    row = headline(table, "deep-layer drop under OOD")
    assert math.isnan(row.value)
    assert row.note.startswith("n/a (the alignment table has no 'ood' rows")


def test_a_model_with_one_checkpoint_has_no_training_gain_but_keeps_the_rest(tables):
    alignment = tables["alignment"]
    one = alignment[~((alignment.model_x == "netB") & (alignment.epoch == 0))]
    table = headline_table({**tables, "alignment": one})
    gain = headline(table, "procrustes gain from training, early layers (", "netB")
    assert math.isnan(gain.value) and "one checkpoint only" in gain.note
    assert headline(table, "procrustes gain from training, early layers (").note == \
        "mean over 1 of 2"
    assert headline(table, "linear − procrustes", "netB").value == pytest.approx(0.1)


def test_a_figure_without_its_data_is_an_error_not_an_empty_plot(tables, tmp_path):
    alignment = tables["alignment"]
    with pytest.raises(InputError, match="no 'rotation' rows"):
        FIGURES["rotation"]({**tables, "alignment": alignment[alignment.analysis != "rotation"]},
                            [tmp_path / "r.png"])
    assert not (tmp_path / "r.png").exists()


def test_the_plan_says_why_a_figure_is_left_out():
    metrics = {"seeds": ["linear"], "ood": ["procrustes"], "training": ["procrustes"]}
    reasons = left_out(["seeds", "ood", "training"], metrics, ["pearson"], ["contrast"])
    assert reasons["cross_grids"] == "the config runs no cross analysis"
    assert reasons["distribution_shift"] == "align.metrics.seeds leaves out procrustes"
    assert reasons["depth_profile_spearman"] == "align.corr does not ask for spearman"
    assert "depth_profile" not in reasons and "training" not in reasons
    assert "beyond_cnns" in reasons
    analyses = ["seeds", "cross", "training", "ood", "rotation"]
    everything = left_out(analyses, {}, ["pearson", "spearman"], ["contrast"])
    assert set(everything) == {"beyond_cnns", "cross_training", "brain"}
    for family in ({"arch": "vit_small"}, {"arch": "gptneox_tiny"},
                   {"arch": "resnet50", "objective": "moco"}):
        models = {"cnn": {"arch": "resnet18"}, "other": family}
        assert set(left_out(analyses, {}, ["pearson", "spearman"], ["contrast"], models)) == {
            "cross_training", "brain"}
    steps = [0, 1000, 2000]
    pythias = {"p160": {"arch": "gptneox", "epochs": steps},
               "p70": {"arch": "gptneox", "epochs": steps}}
    assert set(left_out(analyses, {}, ["pearson", "spearman"], ["contrast"], pythias)) == {
        "brain"}
    brain = {"net": {"arch": "resnet18"}, "b": {"source": "responses", "path": "s{seed}"}}
    assert "brain" not in left_out(analyses, {}, ["pearson"], ["contrast"], brain)
    pythias["p70"]["epochs"] = [0, 1000]  # not one axis: not followed over training
    assert "cross_training" in left_out(analyses, {}, ["pearson"], ["contrast"], pythias)
    assert left_out(["ood", "seeds"], {}, ["pearson"], [])["ood_accuracy"] == (
        "stimuli.ood lists no OOD set")


def _on_disk(tables, folder):
    """The tables as files, as the workflow writes them; training as CSV."""
    paths = []
    for name, table in tables.items():
        path = folder / (f"{name}.csv" if name == "training" else f"{name}.parquet")
        table.to_csv(path, index=False) if path.suffix == ".csv" else table.to_parquet(path)
        paths.append(path)
    return paths


def _convergent(*args):
    return subprocess.run([sys.executable, "-m", "convergent", *map(str, args)],
                          capture_output=True, text=True)


def test_tables_are_read_from_the_files_given_each_named_by_its_stem(tables, tmp_path):
    loaded = load_tables(_on_disk(tables, tmp_path))
    assert set(loaded) == {"alignment", "accuracy", "training", "models"}
    pd.testing.assert_frame_equal(loaded["training"], tables["training"])
    with pytest.raises(InputError, match="no such table"):
        load_tables([tmp_path / "nope.parquet"])
    with pytest.raises(InputError, match=".parquet or .csv"):
        load_tables([tmp_path / "alignment.txt"])
    with pytest.raises(InputError, match="a second 'alignment' table"):
        load_tables([tmp_path / "alignment.parquet", tmp_path / "alignment.parquet"])
    with pytest.raises(InputError, match="the 'accuracy' table was not given"):
        load_tables([tmp_path / "alignment.parquet"])["accuracy"]


def test_cli_figure_from_tables_on_disk(tables, tmp_path):
    paths = _on_disk(tables, tmp_path)
    draw("training", paths, [tmp_path / "t.png"])
    assert (tmp_path / "t.png").stat().st_size > 5000
    done = _convergent("figure", "depth_profile", "--tables", tmp_path / "nope.parquet",
                       "--out", tmp_path / "d.png")
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "no such table" in done.stderr and not (tmp_path / "d.png").exists()
    done = _convergent("figure", "ood_accuracy", "--tables", paths[0], "--out", tmp_path / "o.png")
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "the 'accuracy' table was not given" in done.stderr
    assert not (tmp_path / "o.png").exists()


def test_cli_rotation_writes_its_table_to_the_csv_among_its_outputs(tables, tmp_path):
    (tmp_path / "tables").mkdir()
    paths = _on_disk(tables, tmp_path / "tables")
    out = [tmp_path / "rotation.png", tmp_path / "rotation.svg", tmp_path / "rot.csv"]
    done = _convergent("figure", "rotation", "--tables", *paths, "--out", *out)
    assert done.returncode == 0, done.stderr
    assert all(p.stat().st_size > 1000 for p in out[:2])
    assert list(pd.read_csv(out[2]).model.unique()) == ["netA", "netB"]
    done = _convergent("figure", "training", "--tables", *paths, "--out", tmp_path / "t.png",
                       tmp_path / "t.csv")
    assert done.returncode == 2 and "writes no table" in done.stderr
    assert not (tmp_path / "t.png").exists() and not (tmp_path / "t.csv").exists()


def test_cli_summary_from_tables_on_disk(tables, tmp_path):
    paths = _on_disk(tables, tmp_path)
    done = _convergent("summary", "--tables", *paths, "--out", tmp_path / "summary.md",
                       "--left-out", "beyond_cnns=no ViT")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "summary.md").read_text() == write_summary(
        tables, tmp_path / "again.md", {"beyond_cnns": "no ViT"})
    done = _convergent("summary", "--tables", paths[0], "--out", tmp_path / "part.md")
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "part.md").read_text()
    assert "| procrustes gain from training, early layers (depth < 0.5) | all | +0.300 |" in text
    assert "n/a (the 'accuracy' table was not given" in text


@pytest.mark.parametrize("module", ["convergent.analysis", "convergent.analysis.summary"])
def test_the_numbers_never_import_matplotlib(module):
    done = subprocess.run([sys.executable, "-c", f"import {module}, sys; "
                           "assert 'matplotlib' not in sys.modules, 'matplotlib imported'"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
