"""Language models: tokenizer, loading, layers, pooled sentence representations, the next-token
score, and training the tiny GPT-NeoX per seed with resumable per-epoch checkpoints."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from safetensors.torch import load_file

from convergent.data.sentences import generate_sentences, generated_sentences, training_corpus
from convergent.errors import InputError
from convergent.extract import extract_text
from convergent.io import read_layers
from convergent.models.language import (
    build_language_model,
    build_word_tokenizer,
    language_layer_names,
    load_language_model,
    run_sentences,
    sentence_activations,
    tiny_gptneox_config,
)
from convergent.training import train_language_model
from convergent.training.language import language_settings

torch.set_num_threads(1)

CORPUS = training_corpus(0, 300, 40)[0]
SENTENCES = generate_sentences(12, 5)
SETTINGS = {"corpus": {"train_sentences": 300, "test_sentences": 60},
            "model": {"hidden_size": 32, "layers": 2, "heads": 2, "max_length": 48},
            "train": {"epochs": 2, "batch_size": 16, "lr": 0.01}}


@pytest.fixture(scope="module")
def tiny():
    """An untrained 3-block GPT-NeoX and its word tokenizer."""
    tokenizer = build_word_tokenizer(CORPUS)
    config = tiny_gptneox_config(len(tokenizer), hidden_size=32, layers=3, heads=4)
    return build_language_model(config, seed=0).eval(), tokenizer


def run_train(out: Path, seed: int = 1, settings=SETTINGS, **kwargs) -> list[Path]:
    epochs = language_settings(settings)["train"]["epochs"]
    checkpoints = [out / "ckpt" / f"epoch{e}" for e in range(epochs + 1)]
    train_language_model(seed, settings, out / "state", checkpoints, out / "log.csv",
                         labels={"model": "tiny", "seed": seed}, **kwargs)
    return checkpoints


def weights(directory: Path) -> dict[str, torch.Tensor]:
    return load_file(str(directory / "model.safetensors"))


def same_weights(a, b) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# --------------------------------------------------------------------------- tokenizer


def test_word_tokenizer_round_trips_and_marks_unknown_words():
    tokenizer = build_word_tokenizer(CORPUS)
    assert [tokenizer.pad_token_id, tokenizer.unk_token_id, tokenizer.eos_token_id] == [0, 1, 2]
    for text in CORPUS[:50]:
        ids = tokenizer(text)["input_ids"]
        assert tokenizer.unk_token_id not in ids
        assert tokenizer.decode(ids) == text
    ids = tokenizer("The farmer eats a zeppelin.")["input_ids"]
    assert ids.count(tokenizer.unk_token_id) == 1 and len(ids) == 6
    # the vocabulary depends on the words, not on their order in the corpus
    assert build_word_tokenizer(CORPUS[::-1]).get_vocab() == tokenizer.get_vocab()


# --------------------------------------------------------------------------- loading, layers


def test_a_saved_model_loads_through_the_hub_path(tiny, tmp_path):
    model, tokenizer = tiny
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    loaded, loaded_tokenizer = load_language_model(str(tmp_path))
    assert type(loaded).__name__ == "GPTNeoXForCausalLM" and not loaded.training
    assert language_layer_names(loaded) == ["embed", "block0", "block1", "block2"]
    assert loaded_tokenizer.get_vocab() == tokenizer.get_vocab()
    assert same_weights(model.state_dict(), loaded.state_dict())
    layers = sentence_activations(loaded, loaded_tokenizer, SENTENCES, batch_size=5)
    assert list(layers) == ["embed", "block0", "block1", "block2"]
    assert all(tuple(t.shape) == (12, 32) and t.dtype == torch.float32 for t in layers.values())
    reference = sentence_activations(model, tokenizer, SENTENCES)
    assert all(torch.allclose(layers[k], reference[k], atol=1e-6) for k in layers)


def test_pooling_is_the_mean_or_last_token_of_each_hidden_state(tiny):
    model, tokenizer = tiny
    text = SENTENCES[0]
    ids = torch.tensor([tokenizer(text)["input_ids"]])
    with torch.no_grad():
        hidden = model(input_ids=ids, output_hidden_states=True).hidden_states
    assert len(hidden) == 4
    mean = sentence_activations(model, tokenizer, [text], pooling="mean")
    last = sentence_activations(model, tokenizer, [text], pooling="last")
    for name, state in zip(["embed", "block0", "block1", "block2"], hidden, strict=True):
        assert torch.allclose(mean[name][0], state[0].mean(0), atol=1e-6)
        assert torch.allclose(last[name][0], state[0, -1], atol=1e-6)
    assert not torch.allclose(mean["block2"], last["block2"])


@given(companions=st.lists(st.sampled_from(range(1, 12)), min_size=1, max_size=5),
       position=st.integers(0, 5), pooling=st.sampled_from(["mean", "last"]))
def test_padding_never_changes_a_sentence(tiny, companions, position, pooling):
    """A sentence alone and among longer or shorter ones padded to one batch: same vector."""
    model, tokenizer = tiny
    batch = [SENTENCES[i] for i in companions]
    position = min(position, len(batch))
    batch.insert(position, SENTENCES[0])
    alone = sentence_activations(model, tokenizer, [SENTENCES[0]], pooling)
    together = sentence_activations(model, tokenizer, batch, pooling, batch_size=len(batch))
    for name in alone:
        assert torch.allclose(together[name][position], alone[name][0], atol=1e-5)


def test_the_score_is_the_next_token_cross_entropy(tiny):
    model, tokenizer = tiny
    _, score = run_sentences(model, tokenizer, SENTENCES, batch_size=4)
    losses, counts = [], []
    with torch.no_grad():
        for text in SENTENCES:  # transformers' own shifted loss, one unpadded sentence at once
            ids = torch.tensor([tokenizer(text)["input_ids"]])
            losses.append(float(model(input_ids=ids, labels=ids).loss))
            counts.append(ids.shape[1] - 1)
    expected = sum(loss * n for loss, n in zip(losses, counts, strict=True)) / sum(counts)
    assert score.tokens == sum(counts)
    assert score.loss == pytest.approx(expected, rel=1e-5)
    assert 0 <= score.accuracy <= 1


def test_bad_sources_and_arguments_are_input_errors(tiny, tmp_path):
    model, tokenizer = tiny
    with pytest.raises(InputError, match="no such directory"):
        load_language_model(str(tmp_path / "missing"))
    with pytest.raises(InputError, match="no config.json"):
        load_language_model(str(tmp_path))
    with pytest.raises(InputError, match="revision .* applies to hub ids only"):
        load_language_model(str(tmp_path), revision="step1000")
    with pytest.raises(InputError, match=r"EleutherAI/pythia-nonexistent at revision 'step1'"):
        load_language_model("EleutherAI/pythia-nonexistent", "step1", local_files_only=True)
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(InputError, match="cannot be loaded"):
        load_language_model(str(tmp_path))
    with pytest.raises(InputError, match="pooling 'max' is unknown"):
        sentence_activations(model, tokenizer, SENTENCES, pooling="max")
    with pytest.raises(InputError, match=r"sentence 1 \(' '\) has no tokens"):
        sentence_activations(model, tokenizer, ["A dog.", " "])
    with pytest.raises(InputError, match="train.epochs"):
        language_settings({"train": {"epochs": -1}})
    with pytest.raises(InputError, match="language.model: unknown setting 'width'"):
        language_settings({"model": {"width": 3}})
    with pytest.raises(InputError, match="multiple of model.heads"):
        tiny_gptneox_config(50, hidden_size=30, heads=4)


# --------------------------------------------------------------------------- training


def test_training_learns_and_writes_loadable_checkpoints(tmp_path):
    checkpoints = run_train(tmp_path)
    log = pd.read_csv(tmp_path / "log.csv")
    assert list(log.columns) == ["model", "seed", "epoch", "split", "loss", "accuracy",
                                 "tokens"]
    assert sorted(log.epoch.unique()) == [0, 1, 2]
    per_epoch = log.groupby("epoch").tokens.first()
    assert per_epoch[0] == 0 and per_epoch[2] == 2 * per_epoch[1] > 0  # tokens seen so far
    test = log[log.split == "test"].set_index("epoch")
    assert test.loss[2] < test.loss[0] - 1.0  # from ~ln(vocabulary) towards the grammar
    assert test.accuracy[2] > test.accuracy[0] + 0.1
    stimuli = generated_sentences(30, seed=0)
    scores = [extract_text({"checkpoint": path}, stimuli, tmp_path / f"acts{e}.safetensors",
                           pooling="last", labels={"model": "tiny", "epoch": e},
                           record=tmp_path / f"acts{e}.csv")
              for e, path in enumerate(checkpoints)]
    assert scores[2].loss < scores[0].loss - 1.0
    layers, ids = read_layers(tmp_path / "acts2.safetensors")
    assert list(layers) == ["embed", "block0", "block1"] and ids == stimuli.ids
    assert all(tuple(t.shape) == (30, 32) for t in layers.values())
    row = pd.read_csv(tmp_path / "acts2.csv")
    assert list(row.columns) == ["model", "epoch", "stimset", "loss", "accuracy", "tokens",
                                 "stimuli"]
    assert row.loss.item() == pytest.approx(scores[2].loss) and row.stimuli.item() == 30
    state = json.loads((checkpoints[2] / "convergent.json").read_text())
    assert state["epoch"] == 2 and len(state["history"]) == 6


def test_same_seed_same_weights_other_seed_other_weights(tmp_path):
    settings = {**SETTINGS, "train": {**SETTINGS["train"], "epochs": 1}}
    first = run_train(tmp_path / "a", settings=settings)
    again = run_train(tmp_path / "b", settings=settings)
    other = run_train(tmp_path / "c", seed=2, settings=settings)
    assert same_weights(weights(first[1]), weights(again[1]))
    assert not same_weights(weights(first[0]), weights(other[0]))
    assert not same_weights(weights(first[1]), weights(other[1]))
    # every seed shares the corpus's vocabulary, so their stimuli tokenise alike
    assert (first[1] / "tokenizer.json").read_text() == (other[1] / "tokenizer.json").read_text()


def test_a_run_stopped_after_an_epoch_resumes_to_the_same_weights(tmp_path):
    straight = run_train(tmp_path / "straight")
    run_train(tmp_path / "resumed", stop_after=1)
    state = tmp_path / "resumed" / "state"
    assert sorted(p.name for p in state.iterdir()) == ["epoch0", "epoch1"]
    assert not (tmp_path / "resumed" / "log.csv").exists()
    # what a kill in the middle of writing epoch 2 leaves behind must not count as epoch 2
    (state / ".epoch2.x.partial").mkdir()
    (state / ".epoch2.x.partial" / "config.json").write_text("{}")
    first = (state / "epoch1" / "model.safetensors").stat().st_mtime_ns
    resumed = run_train(tmp_path / "resumed")
    assert (state / "epoch1" / "model.safetensors").stat().st_mtime_ns == first  # not retrained
    assert same_weights(weights(straight[-1]), weights(resumed[-1]))
    assert pd.read_csv(tmp_path / "straight" / "log.csv").equals(
        pd.read_csv(tmp_path / "resumed" / "log.csv"))


def test_changed_settings_retrain_instead_of_resuming(tmp_path):
    run_train(tmp_path, stop_after=0)
    before = weights(tmp_path / "state" / "epoch0")
    changed = {**SETTINGS, "model": {**SETTINGS["model"], "hidden_size": 16}}
    checkpoints = run_train(tmp_path, settings=changed)
    assert weights(checkpoints[0])["gpt_neox.embed_in.weight"].shape[1] == 16
    assert before["gpt_neox.embed_in.weight"].shape[1] == 32
    with pytest.raises(InputError, match="checkpoints: expected 3 paths"):
        train_language_model(1, SETTINGS, tmp_path / "state", [tmp_path / "x"], tmp_path / "l")


def test_eval_train_measures_the_train_split_on_a_subset_and_trains_the_same(tmp_path):
    """language.train.eval_train: the train rows come from fewer sentences (another loss), the
    weights, the test rows and the token counts are those of a run measuring them all."""
    one_epoch = {**SETTINGS, "train": {**SETTINGS["train"], "epochs": 1}}
    subset = {**one_epoch, "train": {**one_epoch["train"], "eval_train": 40}}
    whole_run, subset_run = run_train(tmp_path / "whole", settings=one_epoch), run_train(
        tmp_path / "subset", settings=subset)
    assert same_weights(weights(whole_run[-1]), weights(subset_run[-1]))
    whole, part = (pd.read_csv(tmp_path / name / "log.csv").set_index(["epoch", "split"])
                   for name in ("whole", "subset"))
    pd.testing.assert_frame_equal(whole.xs("test", level="split"),
                                  part.xs("test", level="split"))
    assert (whole.tokens == part.tokens).all()
    assert whole.loc[(1, "train")].loss != part.loc[(1, "train")].loss
