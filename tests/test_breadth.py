"""The paper's breadth through the workflow: model sources and modalities in the job plan, the
16-category OOD accuracy in extraction, the language-model verbs, and a run of a config with a
ViT, a tiny language model and two OOD stand-ins end to end."""

import json
import subprocess
import sys

import pandas as pd
import pytest
import torch
import yaml

from convergent.data import CATEGORIES, ImageSet, ood_accuracy
from convergent.extract import classifier_accuracy
from convergent.plan.models import groups, resolve_models

from smk import ROOT, job_counts, snakemake, workspace

SCHEMA = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())
MODEL_DEFAULTS = {k: v["default"] for k, v in
                  SCHEMA["properties"]["models"]["additionalProperties"]["properties"].items()
                  if "default" in v}


def _config(models, seeds=(0, 1)):
    return {"models": models, "seeds": list(seeds), "train": {"epochs": 3},
            "language": {"train": {"epochs": 2}}}


def test_models_get_their_modality_axis_seeds_and_stimuli():
    models = resolve_models(_config({
        "cnn": {"arch": "resnet18"},
        "vit": {"arch": "vit_small"},
        "lm": {"arch": "gptneox_tiny"},
        "pythia": {"arch": "gptneox", "source": "hub", "hub_id": "org/p-seed{seed}",
                   "epochs": [0, 1000, 143000], "seeds": [1, 2]},
        "imagenet": {"arch": "resnet50", "source": "torchvision",
                     "weights": "torchvision:IMAGENET1K_V1", "epochs": [90]},
    }), MODEL_DEFAULTS)
    assert models["cnn"]["epochs"] == [0, 1, 2, 3] and models["lm"]["epochs"] == [0, 1, 2]
    assert models["pythia"]["seeds"] == [1, 2] and models["imagenet"]["seeds"] == [0]
    assert {m: s["stimset"] for m, s in models.items()} == {
        "cnn": "test", "vit": "test", "lm": "sentences", "pythia": "sentences",
        "imagenet": "test"}
    # cross pairs only share a modality and a training axis
    assert groups(models) == [["cnn", "vit"], ["lm"], ["pythia"], ["imagenet"]]


@pytest.mark.parametrize("spec,message", [
    ({"arch": "gptneox"}, "gptneox models come from the hub"),
    ({"arch": "gptneox_tiny", "source": "hub", "hub_id": "x", "epochs": [0]}, "use arch gptneox"),
    ({"arch": "resnet18", "source": "hub", "hub_id": "x", "epochs": [0]}, "language models"),
    ({"arch": "resnet18", "source": "torchvision", "weights": "w", "epochs": [0, 1]},
     "one checkpoint"),
    ({"arch": "gptneox_tiny", "objective": "moco"}, "moco trains a vision model"),
])
def test_impossible_model_combinations_name_the_model(spec, message):
    with pytest.raises(ValueError, match=message):
        resolve_models(_config({"bad": spec}), MODEL_DEFAULTS)


def test_an_imagenet_model_on_a_published_set_answers_with_the_16_categories():
    torch.manual_seed(0)
    logits = torch.randn(12, 1000)
    labels = torch.arange(12) % 16
    images = ImageSet(torch.zeros(12, 3, 4, 4), labels,
                      [f"contrast/c05/{i}.png" for i in range(12)], list(CATEGORIES))
    got = classifier_accuracy(logits, images, {"arch": "resnet50"})
    assert got == ood_accuracy(logits, labels, imagenet16=True)
    # a 16-way model on the same set: plain argmax; a 10-way one: no classifier for it
    assert classifier_accuracy(torch.nn.functional.one_hot(labels, 16).float(), images,
                               {}) == 1.0
    assert pd.isna(classifier_accuracy(torch.randn(12, 10), images, {}))


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "convergent", *args], capture_output=True,
                          text=True)


def test_language_verbs_train_and_extract_through_the_cli(tmp_path):
    settings = {"corpus": {"train_sentences": 200, "test_sentences": 40},
                "model": {"hidden_size": 16, "layers": 2, "heads": 2},
                "train": {"epochs": 1, "batch_size": 16}}
    checkpoints = [tmp_path / "ckpt" / f"epoch{e}" for e in (0, 1)]
    done = _cli("train-language", "--seed", "0", "--settings", json.dumps(settings),
                "--state-dir", str(tmp_path / "state"), "--checkpoints",
                *map(str, checkpoints), "--log", str(tmp_path / "log.csv"),
                "--label", "model=lm", "--label", "seed=0")
    assert done.returncode == 0, done.stderr
    log = pd.read_csv(tmp_path / "log.csv")
    assert set(log.epoch) == {0, 1} and {"model", "seed", "loss"} <= set(log.columns)
    out, record = tmp_path / "sentences.safetensors", tmp_path / "sentences.accuracy.csv"
    done = _cli("extract-text", "--source", json.dumps({"checkpoint": str(checkpoints[1])}),
                "--sentences", json.dumps({"name": "generated", "sentences": 30,
                                           "pooling": "last"}),
                "--out", str(out), "--record", str(record), "--label", "model=lm")
    assert done.returncode == 0, done.stderr
    from convergent.io import read_layers

    layers, ids = read_layers(out)
    assert list(layers) == ["embed", "block0", "block1"] and len(ids) == 30
    row = pd.read_csv(record).iloc[0]
    assert row.stimset == "sentences" and row.stimuli == 30 and row.loss > 0
    bad = _cli("extract-text", "--source", json.dumps({"checkpoint": str(tmp_path / "nope")}),
               "--sentences", "{}", "--out", str(tmp_path / "x.safetensors"),
               "--record", str(tmp_path / "x.csv"))
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.safetensors").exists()


def test_a_vit_a_language_model_and_ood_stand_ins_run_end_to_end(tmp_path):
    work = workspace(tmp_path)
    settings = yaml.safe_load((ROOT / "config" / "test.yaml").read_text())
    settings.update(
        models={"vit": {"arch": "vit_small"}, "lm": {"arch": "gptneox_tiny"}},
        sentences={"sentences": 40},
        language={"corpus": {"train_sentences": 300, "test_sentences": 40},
                  "model": {"hidden_size": 16, "heads": 2}, "train": {"epochs": 1}})
    settings["stimuli"]["ood"] = ["edge", "cue-conflict"]
    config = work / "config" / "breadth.yaml"
    config.write_text(yaml.safe_dump(settings))
    plan = job_counts(snakemake(work, "-n", config=config).stdout)
    assert plan["train_vision_vit"] == 2 and plan["train_language"] == 2
    assert plan["extract_text"] == 4
    assert plan["extract_ood"] == 2, plan
    snakemake(work, config=config)
    tables = work / "results" / "tables"
    alignment = pd.read_parquet(tables / "alignment.parquet")
    lm = alignment[alignment.model_x == "lm"]
    assert set(lm.stimset) == {"sentences"} and set(lm.layer_x) == {"embed", "block0", "block1"}
    assert "ood" not in set(lm.analysis)  # language models see no images
    vit = alignment[alignment.model_x == "vit"]
    assert set(vit[vit.analysis == "ood"].stimset) == {"edge", "cue-conflict", "test@edge",
                                                       "test@cue-conflict"}
    assert set(vit.layer_x) == {f"encoder.layers.encoder_layer_{i}" for i in range(4)}
    cross = alignment[alignment.analysis == "cross"]
    assert set(zip(cross.model_x, cross.model_y, strict=True)) == {("vit", "vit"), ("lm", "lm")}
    accuracy = pd.read_parquet(tables / "accuracy.parquet")
    assert set(accuracy[accuracy.model == "lm"].stimset) == {"sentences"}
    training = pd.read_parquet(tables / "training.parquet")
    assert set(training.model) == {"vit", "lm"}
