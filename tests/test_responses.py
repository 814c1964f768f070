"""Recorded responses as a model: reading and matching the files, a synthetic brain whose regions
mix known layers of a real network, the ceiling across subjects, and a workflow run of
checkpoints beside a responses model on a folder of images."""

import math

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from convergent.analysis.brain import best_layers, ceilings
from convergent.analysis.summary import headline_table
from convergent.data import load_images
from convergent.errors import InputError
from convergent.extract import extract
from convergent.figures import FIGURES
from convergent.io import read_layers, write_layers
from convergent.metrics import grid
from convergent.models import build_model, extract_activations
from convergent.models.responses import load_responses

from conftest import make_folder
from smk import snakemake, workspace

DIGITS = {"name": "digits", "image_size": 32, "test_fraction": 0.3, "seed": 0}


def _regions(rng, n=40):
    ids = [f"img{i}.png" for i in range(n)]
    return {"V1": rng.standard_normal((n, 6)), "IT": rng.standard_normal((n, 4))}, ids


def test_rows_are_matched_to_the_stimuli_by_id_in_any_order(tmp_path, rng):
    regions, ids = _regions(rng)
    order = rng.permutation(len(ids))
    extra = {name: np.vstack([a[order], rng.standard_normal((3, a.shape[1]))])
             for name, a in regions.items()}
    write_layers(tmp_path / "s1.safetensors", extra, [ids[i] for i in order] + ["a", "b", "c"])
    matched = load_responses(tmp_path / "s1.safetensors", ids)
    assert list(matched) == ["V1", "IT"]  # hierarchy order kept
    for name, values in regions.items():
        np.testing.assert_allclose(matched[name], values, rtol=1e-6)


def test_missing_ids_and_nan_regions_are_one_clear_error(tmp_path, rng):
    regions, ids = _regions(rng)
    write_layers(tmp_path / "short.safetensors", {k: v[:30] for k, v in regions.items()},
                 ids[:30])
    with pytest.raises(InputError, match=r"short.safetensors: no responses to 10 of the 40 "
                       r"stimuli: 'img30.png', 'img31.png'"):
        load_responses(tmp_path / "short.safetensors", ids)
    regions["IT"][5, 1] = np.nan
    write_layers(tmp_path / "nan.safetensors", regions, ids)
    with pytest.raises(InputError, match=r"nan.safetensors:IT: NaN or infinite values in 1 "):
        load_responses(tmp_path / "nan.safetensors", ids)
    write_layers(tmp_path / "anon.safetensors", regions)
    with pytest.raises(InputError, match="no 'stimulus_ids'"):
        load_responses(tmp_path / "anon.safetensors", ids)


@pytest.fixture(scope="module")
def network_layers():
    """A real VGG11's centre-pixel layers on 300 digit images."""
    torch.manual_seed(0)
    images = load_images(DIGITS, "test").images[:300]
    model = build_model("vgg11", 10, width=0.5, small_input=True, seed=0)
    layers, _ = extract_activations(model, [images])
    return {name: value.double().numpy() for name, value in layers.items()}


def _brain(layers, mixes, seed, noise=0.3):
    """Regions that are noisy random mixtures of two known layers each."""
    rng = np.random.default_rng(seed)
    names = list(layers)
    regions = {}
    for region, (a, b) in mixes.items():
        both = np.hstack([layers[names[a]], layers[names[b]]])
        both = (both - both.mean(0)) / (both.std(0) + 1e-9)
        mixed = both @ rng.standard_normal((both.shape[1], 24))
        regions[region] = mixed + noise * mixed.std() * rng.standard_normal(mixed.shape)
    return regions


def _tables(network, subjects, folds=3):
    """The cross rows (network × first subject) and seeds rows (subject pairs) as the workflow
    writes them, and the models table."""
    rows = []
    cross = grid(network, subjects[0], metrics=["procrustes"], pairs="all", folds=folds)
    rows.append(cross.assign(analysis="cross", model_x="vgg", seed_x=0, model_y="brain",
                             seed_y=1))
    for a in range(len(subjects)):
        for b in range(a + 1, len(subjects)):
            pair = grid(subjects[a], subjects[b], metrics=["procrustes"], pairs="diagonal",
                        folds=folds)
            rows.append(pair.assign(analysis="seeds", model_x="brain", seed_x=a,
                                    model_y="brain", seed_y=b))
    alignment = pd.concat(rows, ignore_index=True).assign(epoch=0, stimset="test",
                                                          corr="pearson")
    models = pd.DataFrame([
        dict(model="vgg", family="cnn", modality="vision", axis="epoch"),
        dict(model="brain", family="responses", modality="vision", axis="epoch")])
    return {"alignment": alignment, "models": models}


def test_a_synthetic_brain_is_matched_to_the_layers_it_mixes(network_layers, tmp_path):
    mixes = {"V1": (0, 1), "V4": (3, 4), "IT": (6, 7)}
    subjects = [_brain(network_layers, mixes, seed) for seed in (1, 2, 3)]
    tables = _tables(network_layers, subjects)
    best = best_layers(tables).set_index("layer_y")
    for region, known in mixes.items():
        assert min(abs(best.index_x[region] - k) for k in known) <= 2, (region, best.index_x)
    assert best.index_x["V1"] < best.index_x["IT"]  # early regions with early layers
    assert (best.pairs == 3).all() and best.relative.between(0, 1.5).all()
    headlines = headline_table(tables)
    rows = headlines[headlines.headline.str.startswith("brain: the best network layer")]
    assert set(rows.model) == {"brain:V1", "brain:V4", "brain:IT", "all"}
    assert rows[rows.model == "brain:V1"].note.iloc[0].startswith("best layer: vgg features.")
    axes = FIGURES["brain"](tables, [tmp_path / "brain.png"])
    assert [ax.get_title().split(" (")[0] for ax in axes] == ["V1", "V4", "IT"]


def test_one_subject_has_no_ceiling_and_says_so(network_layers, tmp_path):
    tables = _tables(network_layers, [_brain(network_layers, {"V1": (0, 1)}, 1)])
    assert ceilings(tables).empty
    relative = headline_table(tables)
    row = relative[relative.headline.str.startswith("brain: the best layer's score relative")
                   & (relative.model == "brain:V1")].iloc[0]
    assert math.isnan(row.value) and "one subject only" in row.note
    (ax,) = FIGURES["brain"](tables, [tmp_path / "one.png"])
    assert any("no ceiling: one subject" in t.get_text() for t in ax.texts)


def test_extract_writes_the_responses_of_the_in_distribution_set(tmp_path, rng):
    folder = tmp_path / "images"
    make_folder(folder / "test", per_class=4)
    data = {"name": "imagefolder", "test": str(folder / "test"), "image_size": 32}
    stimuli = {"max_images": None, "seed": 0}
    ids = sorted(str(p.relative_to(folder / "test")) for p in (folder / "test").rglob("*.png"))
    write_layers(tmp_path / "s.safetensors", {"V1": rng.standard_normal((12, 5))}, ids[::-1])
    out = tmp_path / "out"
    extract({"responses": str(tmp_path / "s.safetensors")}, data, stimuli, ["test"],
            [out / "test.safetensors"], [out / "test.accuracy.csv"], labels={"model": "b"})
    layers, written_ids = read_layers(out / "test.safetensors")
    assert written_ids == ids and list(layers) == ["V1"]
    assert math.isnan(pd.read_csv(out / "test.accuracy.csv").accuracy[0])
    with pytest.raises(InputError, match="only the in-distribution set"):
        extract({"responses": str(tmp_path / "s.safetensors")}, data, stimuli, ["contrast"],
                [out / "c.safetensors"], [out / "c.csv"], labels={})


@pytest.mark.slow
def test_checkpoints_beside_recorded_responses_run_end_to_end(tmp_path, network_layers):
    """Networks from checkpoints, a brain of two subjects, on a folder of images."""
    work = workspace(tmp_path)
    make_folder(tmp_path / "images" / "test", per_class=10, size=(32, 32))
    ids = sorted(str(p.relative_to(tmp_path / "images" / "test"))
                 for p in (tmp_path / "images" / "test").rglob("*.png"))
    for seed in (0, 1):
        model = build_model("vgg11", 3, width=0.25, small_input=True, seed=seed)
        spec = {"arch": "vgg11", "num_classes": 3, "width": 0.25, "small_input": True}
        (tmp_path / "nets").mkdir(exist_ok=True)
        torch.save({"model": model.state_dict(), "spec": spec},
                   tmp_path / "nets" / f"vgg{seed}_5.pt")
    rng = np.random.default_rng(0)
    for subject in (1, 2):
        write_layers(tmp_path / f"subject{subject}.safetensors",
                     {"V1": rng.standard_normal((30, 6)), "IT": rng.standard_normal((30, 3))},
                     ids)
    config = {"data": {"name": "imagefolder", "test": str(tmp_path / "images" / "test"),
                       "image_size": 32},
              "models": {"vgg": {"arch": "vgg11", "width": 0.25, "source": "checkpoint",
                                 "path": str(tmp_path / "nets" / "vgg{seed}_{epoch}.pt"),
                                 "epochs": [5]},
                         "brain": {"source": "responses", "seeds": [1, 2],
                                   "path": str(tmp_path / "subject{seed}.safetensors")}},
              "align": {"folds": 3, "analyses": ["seeds", "cross"]},
              "theory": {"enabled": False}}
    (work / "config" / "brain.yaml").write_text(yaml.safe_dump(config))
    snakemake(work, config=work / "config" / "brain.yaml")
    tables = work / "results" / "tables"
    alignment = pd.read_parquet(tables / "alignment.parquet")
    brain_cross = alignment[(alignment.analysis == "cross") & (alignment.model_y == "brain")]
    assert set(brain_cross.layer_y) == {"V1", "IT"} and brain_cross.index_x.nunique() == 8
    subjects = alignment[(alignment.analysis == "seeds") & (alignment.model_x == "brain")]
    assert set(zip(subjects.seed_x, subjects.seed_y, strict=True)) == {(1, 2)}
    assert (work / "results" / "figures" / "brain.png").stat().st_size > 5000
    headlines = pd.read_csv(tables / "headlines.csv")
    brain = headlines[headlines.headline.str.startswith("brain:")]
    assert {"brain:V1", "brain:IT"} <= set(brain.model) and brain.value.notna().all()
