"""convergent.config: every default comes from the workflow's schema, unknown keys and bad values
are input errors naming the key, and the training settings are built from it."""

import pytest
import yaml

from convergent.config import (
    SCHEMA_PATH,
    config_error,
    default,
    schema,
    section_schema,
    with_defaults,
)
from convergent.errors import InputError
from convergent.training.language import language_settings
from convergent.training.vision import moco_settings, train_settings

from smk import ROOT

RAW = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())


def test_the_package_reads_the_workflows_schema():
    assert SCHEMA_PATH.resolve() == (ROOT / "workflow" / "schemas" / "config.schema.yaml")
    assert schema() == RAW


def test_defaults_are_the_schemas_nested_and_in_its_order():
    moco = RAW["properties"]["train"]["properties"]["moco"]["properties"]
    assert with_defaults(("train", "moco")) == {key: spec["default"]
                                                for key, spec in moco.items()}
    assert list(with_defaults("train.moco", {"queue": 8})) == list(moco)
    language = RAW["properties"]["language"]["properties"]
    filled = with_defaults("language", {"train": {"epochs": 5}})
    assert list(filled) == list(language)
    for section in ("corpus", "model"):
        assert filled[section] == {key: spec["default"]
                                   for key, spec in language[section]["properties"].items()}
    assert filled["train"]["epochs"] == 5
    assert filled["train"]["lr"] == language["train"]["properties"]["lr"]["default"]
    assert default(("models", "*", "objective")) == "supervised"
    assert section_schema("language.model.heads")["minimum"] == 1


def test_defaults_are_fresh_copies():
    first = with_defaults("stimuli")
    first["ood"].append("not-a-set")
    assert "not-a-set" not in with_defaults("stimuli")["ood"]


def test_an_unknown_key_or_bad_value_is_an_input_error_naming_it():
    with pytest.raises(InputError, match="train.moco: unknown setting 'queue_size'; choose from"):
        with_defaults(("train", "moco"), {"queue_size": 8})
    with pytest.raises(InputError, match="language.model: unknown setting 'width'"):
        with_defaults("language", {"model": {"width": 3}})
    with pytest.raises(InputError, match="language: unknown setting 'optimiser'"):
        with_defaults("language", {"optimiser": {}})
    with pytest.raises(InputError, match=r"language.train.epochs: -1 is less than"):
        with_defaults("language", {"train": {"epochs": -1}})
    with pytest.raises(InputError, match=r"train.moco.temperature: 'hot' is not of type"):
        with_defaults("train", {"moco": {"temperature": "hot"}})
    with pytest.raises(KeyError, match="no train.nope"):
        section_schema("train.nope")


def test_training_settings_come_from_the_schema():
    # the settings fingerprinted by language checkpoints: corpus, model, train and nothing else
    settings = language_settings(None)
    assert list(settings) == ["corpus", "model", "train"]
    assert settings == {k: v for k, v in with_defaults("language").items() if k != "threads"}
    assert language_settings({"threads": 4}) == settings  # a job resource, not a setting
    assert moco_settings({"moco": {"queue": 32}})["queue"] == 32
    assert moco_settings({})["lr"] == RAW["properties"]["train"]["properties"]["moco"][
        "properties"]["lr"]["default"]
    resolved = train_settings({"epochs": 2, "objective": "moco"})
    assert resolved["objective"] == "moco" and resolved["epochs"] == 2
    assert resolved["augment"] is False and resolved["num_workers"] == 0
    assert train_settings({})["objective"] == "supervised"
    with pytest.raises(InputError, match="train.objective: unknown objective 'byol'"):
        train_settings({"objective": "byol"})


def test_a_whole_config_gets_one_line_naming_its_first_bad_key():
    assert config_error({"models": {"net": {"arch": "resnet18"}}}) is None
    assert config_error({"train": {"epochs": 0}}) == (
        "config error at train.epochs: 0 is less than the minimum of 1")
    assert config_error({"modles": {}}).startswith("config error at (top level): Additional")
    assert "models.net" in config_error({"models": {"net": {"arch": "alexnet"}}})
