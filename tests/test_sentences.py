"""Sentence stimuli: the STSB reader and the generated English-like sentences."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from convergent.data.sentences import (
    STIMULUS_BUCKETS,
    TEST_BUCKETS,
    TRAIN_BUCKETS,
    generate_sentences,
    generated_sentences,
    load_sentence_set,
    read_stsb_pairs,
    sentence_bucket,
    stsb_sentences,
    training_corpus,
)
from convergent.errors import InputError

# Rows as STSB writes them: the second carries the two extra source columns, the third has
# unbalanced and paired quote characters (a reader with quoting on would swallow the tabs),
# and the last repeats sentences of earlier rows.
TRAIN_ROWS = [
    "main-captions\tMSRvid\t2012test\t0001\t5.000\tA plane is taking off.\tAn air plane is "
    "taking off.",
    "main-news\theadlines\t2013\t0002\t3.800\tA man plays a flute.\tA man is playing a "
    "flute.\tnone\tnone",
    'main-forums\tdeft-forum\t2014\t0003\t1.250\t"I don\'t think so, he said.\tShe said '
    '"yes" twice.',
    "main-captions\tMSRvid\t2012test\t0004\t0.000\tA man plays a flute.\tA plane is taking "
    "off.",
]


def write_stsb(folder, split="train", rows=TRAIN_ROWS):
    folder.mkdir(exist_ok=True)
    (folder / f"sts-{split}.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return folder


def test_stsb_rows_are_read_with_quotes_and_extra_columns(tmp_path):
    pairs = read_stsb_pairs(write_stsb(tmp_path) / "sts-train.csv")
    assert [p.score for p in pairs] == [5.0, 3.8, 1.25, 0.0]
    assert pairs[1].sentence2 == "A man is playing a flute."
    assert pairs[2].sentence1 == '"I don\'t think so, he said.'
    assert pairs[2].sentence2 == 'She said "yes" twice.'
    assert (pairs[0].genre, pairs[0].file, pairs[0].year, pairs[0].id) == (
        "main-captions", "MSRvid", "2012test", "0001")


def test_stsb_stimuli_are_the_unique_sentences_in_file_order(tmp_path):
    stimuli = stsb_sentences(write_stsb(tmp_path), "train")
    assert stimuli.texts == [
        "A plane is taking off.", "An air plane is taking off.", "A man plays a flute.",
        "A man is playing a flute.", '"I don\'t think so, he said.', 'She said "yes" twice.']
    assert stimuli.ids == [f"stsb-train/{i}" for i in range(6)]
    assert stimuli.name == "stsb-train" and len(stimuli) == 6
    first_three = stsb_sentences(tmp_path, "train", max_sentences=3)
    assert first_three.texts == stimuli.texts[:3] and first_three.ids == stimuli.ids[:3]


# Any text without tabs, line breaks or control characters: quotes, backslashes, commas, ...
SENTENCE = st.text(st.characters(exclude_categories=("Cc", "Cs")), min_size=1,
                   max_size=20).filter(str.strip)


@given(pairs=st.lists(st.tuples(SENTENCE, SENTENCE), min_size=1, max_size=6))
def test_any_sentence_is_read_back_verbatim_and_deduplicated_in_order(tmp_path_factory, pairs):
    rows = [f"g\tf\t2012\t{i:04d}\t{i % 6}.0\t{a}\t{b}" + ("\tsrc\tsrc" if i % 2 else "")
            for i, (a, b) in enumerate(pairs)]
    folder = write_stsb(tmp_path_factory.mktemp("stsb"), "dev", rows)
    read = read_stsb_pairs(folder / "sts-dev.csv")
    assert [(p.sentence1, p.sentence2) for p in read] == pairs
    expected = list(dict.fromkeys(text for pair in pairs for text in pair))
    assert stsb_sentences(folder, "dev").texts == expected


def test_a_blank_line_is_skipped_but_line_numbers_stay_true(tmp_path):
    rows = [TRAIN_ROWS[0], "", "main-news\theadlines\t2013\t0005\t2.0\tonly one sentence"]
    write_stsb(tmp_path, "dev", rows)
    with pytest.raises(InputError, match=r"sts-dev\.csv:3: expected 7 .*found 6"):
        stsb_sentences(tmp_path, "dev")


@pytest.mark.parametrize(("row", "problem"), [
    ("g\tf\t2012\t1\tfive\tA.\tB.", r":1: score 'five' is not a number"),
    ("g\tf\t2012\t1\t7.5\tA.\tB.", r":1: score 7.5 lies outside \[0, 5\]"),
    ("g\tf\t2012\t1\t2.5\t \tB.", r":1: sentence 1 is empty"),
    ("g\tf\t2012\t1\t2.5\tA.\tB.\tsource", r":1: expected 7 .*found 8"),
])
def test_a_malformed_row_names_the_file_and_line(tmp_path, row, problem):
    write_stsb(tmp_path, "test", [row])
    with pytest.raises(InputError, match=r"sts-test\.csv" + problem):
        stsb_sentences(tmp_path, "test")


def test_missing_stsb_inputs_are_named(tmp_path):
    with pytest.raises(InputError, match="no such STSB folder"):
        stsb_sentences(tmp_path / "absent", "test")
    with pytest.raises(InputError, match=r"sts-test\.csv: no such STSB file"):
        stsb_sentences(tmp_path, "test")
    with pytest.raises(InputError, match="split 'validation' is unknown"):
        stsb_sentences(tmp_path, "validation")
    (tmp_path / "sts-dev.csv").write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(InputError, match=r"sts-dev\.csv: not a readable STSB file"):
        stsb_sentences(tmp_path, "dev")


def test_generation_is_deterministic_given_the_seed():
    assert generate_sentences(50, 3) == generate_sentences(50, 3)
    assert generate_sentences(50, 3) != generate_sentences(50, 4)
    assert training_corpus(0, 80, 20) == training_corpus(0, 80, 20)
    assert generated_sentences(40, seed=1).texts == generated_sentences(40, seed=1).texts
    # a smaller set is the start of a larger one, so stimulus ids keep their meaning
    assert generated_sentences(60, seed=1).texts[:40] == generated_sentences(40, seed=1).texts


def test_stimuli_corpus_and_test_split_never_share_a_sentence():
    train, test = training_corpus(0, 2000, 200)
    stimuli = generated_sentences(300, seed=0)
    assert len(set(stimuli.texts)) == 300 and len(set(test)) == 200
    assert not set(stimuli.texts) & set(train) and not set(stimuli.texts) & set(test)
    assert not set(train) & set(test)
    assert stimuli.ids == [f"generated/{i}" for i in range(300)]


@given(seed=st.integers(0, 2**32 - 1), buckets=st.sampled_from(
    [STIMULUS_BUCKETS, TEST_BUCKETS, TRAIN_BUCKETS, (3, 7)]))
def test_generated_sentences_are_well_formed_and_in_their_buckets(seed, buckets):
    texts = generate_sentences(30, seed, buckets)
    assert all(sentence_bucket(text) in buckets for text in texts)
    for text in texts:
        assert text[0].isupper() and text[-1] in ".?" and "  " not in text
        assert not re.search(r" [.,?]", text)  # punctuation sits on the word before it
        assert not re.search(r"\b[Aa] [aeiou]", text)  # "an" before a vowel
        assert not re.search(r"\b[Aa]n [^aeiou]", text)


def test_the_grammar_has_agreement_for_a_model_to_learn():
    texts = generate_sentences(400, 0)
    questions = [t for t in texts if t.startswith(("Do ", "Does "))]
    assert questions and all(not re.search(r"\b(eats|reads|drives|plays)\b", t)
                             for t in questions)  # the base form after do / does
    assert any(t.startswith("There are ") for t in texts)
    assert all(not re.search(r"\b(two|three|many|these) \w+ is\b", t) for t in texts)
    words = {w for t in texts for w in re.findall(r"\w+", t.lower())}
    assert 150 < len(words) < 400  # a vocabulary a tiny model can learn in seconds


def test_sentence_sets_from_config_entries(tmp_path):
    write_stsb(tmp_path)
    stsb = load_sentence_set({"name": "stsb", "root": str(tmp_path), "split": "train"})
    assert len(stsb) == 6
    generated = load_sentence_set({"name": "generated", "sentences": 12, "seed": 2})
    assert generated.texts == generated_sentences(12, 2).texts
    with pytest.raises(InputError, match=r"sentences.name: 'wiki' is not one of \['generated'"):
        load_sentence_set({"name": "wiki"})
    with pytest.raises(InputError, match="sentences.root"):
        load_sentence_set({"name": "stsb"})
    with pytest.raises(InputError, match="sentences.sentences: 0 is less than the minimum"):
        load_sentence_set({"name": "generated", "sentences": 0})
