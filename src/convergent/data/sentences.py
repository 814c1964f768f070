"""Sentence stimuli for language models: the STS Benchmark splits, and generated English-like
sentences (the embedded default, which needs no download).

STSB ships as ``sts-train.csv``, ``sts-dev.csv`` and ``sts-test.csv``: tab-separated, no header,
columns genre, file, year, id, score, sentence 1, sentence 2; some rows carry two more columns
naming their source. Sentences may contain quote characters, so the files are read with quoting
off. The stimuli of a split are its unique sentences in file order (sentence 1, then sentence 2
of each row; the first occurrence of a sentence wins), with ids ``stsb-<split>/<index>``.

The generated sentences come from a small template grammar (subjects, verbs with the objects
they take, adjectives, number words, places, times, relative clauses, questions, subject-verb
and number agreement, "a"/"an"). Every sentence the grammar can emit falls into one of ten
buckets by a hash of its text: bucket 0 holds the stimuli, bucket 1 the corpus's test split and
buckets 2-9 its training split, so the three never share a sentence whatever their sizes and
seeds.
"""

from __future__ import annotations

import csv
import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError

STSB_SPLITS = ("train", "dev", "test")
STSB_COLUMNS = ("genre", "file", "year", "id", "score", "sentence1", "sentence2")
#: rows have the seven columns above, or those and two columns naming the source
_STSB_FIELD_COUNTS = (7, 9)


@dataclass(frozen=True)
class SentenceSet:
    """Named sentence stimuli: ``texts`` and their stable ``ids``, both in stimulus order."""

    name: str
    texts: list[str]
    ids: list[str]

    def __len__(self) -> int:
        return len(self.texts)


@dataclass(frozen=True)
class STSPair:
    """One STSB row: a sentence pair and its similarity score (0-5)."""

    genre: str
    file: str
    year: str
    id: str
    score: float
    sentence1: str
    sentence2: str


# --------------------------------------------------------------------------- STSB


def read_stsb_pairs(path: str | os.PathLike) -> list[STSPair]:
    """The rows of one STSB file, in file order (blank lines skipped).

    Raises
    ------
    InputError
        When the file is missing or unreadable, or a row is malformed (wrong number of fields,
        a score that is not a number in [0, 5], an empty sentence); the message names the file
        and the line.
    """
    path = Path(path)
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            rows = list(enumerate(csv.reader(handle, delimiter="\t",
                                             quoting=csv.QUOTE_NONE), start=1))
    except FileNotFoundError:
        raise InputError(f"{path}: no such STSB file") from None
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise InputError(f"{path}: not a readable STSB file ({err})") from None
    return [_stsb_pair(path, line, fields) for line, fields in rows if any(fields)]


def _stsb_pair(path: Path, line: int, fields: list[str]) -> STSPair:
    where = f"{path}:{line}"
    if len(fields) not in _STSB_FIELD_COUNTS:
        raise InputError(f"{where}: expected 7 tab-separated fields (genre, file, year, id, "
                         f"score, sentence 1, sentence 2; optionally 2 source fields), "
                         f"found {len(fields)}")
    genre, file, year, row_id, score_text, first, second = fields[:7]
    try:
        score = float(score_text)
    except ValueError:
        raise InputError(f"{where}: score {score_text!r} is not a number") from None
    if not 0.0 <= score <= 5.0:
        raise InputError(f"{where}: score {score} lies outside [0, 5]")
    for column, text in (("sentence 1", first), ("sentence 2", second)):
        if not text.strip():
            raise InputError(f"{where}: {column} is empty")
    return STSPair(genre, file, year, row_id, score, first, second)


def stsb_file(root: str | os.PathLike, split: str) -> Path:
    """The path of STSB ``split`` ("train", "dev" or "test") under the folder ``root``."""
    if split not in STSB_SPLITS:
        raise InputError(f"STSB split {split!r} is unknown; choose from {', '.join(STSB_SPLITS)}")
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root}: no such STSB folder (expected sts-train.csv, sts-dev.csv, "
                         f"sts-test.csv in it)")
    return root / f"sts-{split}.csv"


def unique_in_order(texts: Iterable[str]) -> list[str]:
    """``texts`` without repeats, each kept at its first occurrence."""
    return list(dict.fromkeys(texts))


def stsb_sentences(root: str | os.PathLike, split: str,
                   max_sentences: int | None = None) -> SentenceSet:
    """The unique sentences of STSB ``split`` in file order, ids ``stsb-<split>/<index>``.

    ``max_sentences`` keeps the first that many (a prefix, so a smaller set is a subset of a
    larger one).
    """
    pairs = read_stsb_pairs(stsb_file(root, split))
    texts = unique_in_order(text for pair in pairs for text in (pair.sentence1, pair.sentence2))
    if max_sentences is not None:
        texts = texts[:_positive(max_sentences, "max_sentences")]
    return SentenceSet(f"stsb-{split}", texts, [f"stsb-{split}/{i}" for i in range(len(texts))])


# --------------------------------------------------------------------------- the grammar

# Nouns by kind as (singular, plural); verbs as (third person singular, base form) with the
# kinds of subject and object they take, so that the sentences carry learnable regularities.
NOUNS = {
    "person": [("farmer", "farmers"), ("teacher", "teachers"), ("doctor", "doctors"),
               ("child", "children"), ("woman", "women"), ("man", "men"),
               ("student", "students"), ("baker", "bakers"), ("pilot", "pilots"),
               ("artist", "artists"), ("sailor", "sailors"), ("engineer", "engineers")],
    "animal": [("dog", "dogs"), ("cat", "cats"), ("horse", "horses"), ("bird", "birds"),
               ("fox", "foxes"), ("cow", "cows"), ("goat", "goats"), ("mouse", "mice"),
               ("rabbit", "rabbits"), ("owl", "owls")],
    "food": [("apple", "apples"), ("orange", "oranges"), ("carrot", "carrots"),
             ("pie", "pies"), ("sandwich", "sandwiches"), ("cookie", "cookies"),
             ("egg", "eggs"), ("pear", "pears"), ("cake", "cakes")],
    "text": [("book", "books"), ("letter", "letters"), ("poem", "poems"),
             ("story", "stories"), ("newspaper", "newspapers"), ("report", "reports"),
             ("map", "maps"), ("note", "notes")],
    "vehicle": [("car", "cars"), ("bus", "buses"), ("truck", "trucks"),
                ("bicycle", "bicycles"), ("boat", "boats"), ("train", "trains"),
                ("tractor", "tractors"), ("van", "vans")],
    "instrument": [("guitar", "guitars"), ("piano", "pianos"), ("violin", "violins"),
                   ("drum", "drums"), ("flute", "flutes"), ("trumpet", "trumpets")],
}
ANIMATE = ("person", "animal")
THINGS = ("food", "text", "vehicle", "instrument")
VERBS = [
    (("eats", "eat"), ANIMATE, ("food",)),
    (("buys", "buy"), ("person",), THINGS),
    (("sells", "sell"), ("person",), THINGS),
    (("reads", "read"), ("person",), ("text",)),
    (("writes", "write"), ("person",), ("text",)),
    (("drives", "drive"), ("person",), ("vehicle",)),
    (("repairs", "repair"), ("person",), ("vehicle", "instrument")),
    (("washes", "wash"), ("person",), ("vehicle", "animal")),
    (("plays", "play"), ("person",), ("instrument",)),
    (("chases", "chase"), ("animal",), ANIMATE),
    (("feeds", "feed"), ("person",), ("animal",)),
    (("sees", "see"), ANIMATE, ANIMATE + THINGS),
    (("likes", "like"), ANIMATE, ANIMATE + THINGS),
    (("watches", "watch"), ANIMATE, ANIMATE + ("vehicle",)),
    (("finds", "find"), ANIMATE, THINGS),
]
ADJECTIVES = {
    "person": ["young", "old", "tired", "happy", "quiet", "tall"],
    "animal": ["young", "old", "small", "big", "hungry", "brown"],
    "food": ["fresh", "sweet", "small", "big", "red", "green"],
    "text": ["long", "short", "old", "new", "strange", "famous"],
    "vehicle": ["fast", "old", "new", "red", "blue", "broken"],
    "instrument": ["loud", "old", "new", "broken", "small", "expensive"],
}
# The adjectives of each kind that can follow "is" / "are".
PREDICATES = {kind: words[:4] for kind, words in ADJECTIVES.items()}
NUMBERS = ["two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "twelve"]
SINGULAR_DETERMINERS = ["the", "a", "this", "that", "every", "one"]
PLURAL_DETERMINERS = ["the", "some", "many", "these", "those"]
PLACES = ["park", "river", "market", "school", "garden", "station", "kitchen", "forest",
          "harbor", "village"]
PREPOSITIONS = ["in", "near", "behind", "at"]
TIMES = ["every morning", "at night", "on Sundays", "in winter", "after lunch", "today"]
ADVERBS = ["often", "rarely", "always", "never", "sometimes"]
CONNECTIVES = ["because", "while", "and", "but"]


class _Grammar:
    """Draws one sentence from the template grammar with a numpy ``Generator``."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng

    def pick(self, options):
        return options[int(self.rng.integers(len(options)))]

    def chance(self, p: float) -> bool:
        return bool(self.rng.random() < p)

    def noun_phrase(self, kinds, plural: bool) -> list[str]:
        kind = self.pick(kinds)
        noun = self.pick(NOUNS[kind])[int(plural)]
        if plural:
            words = [self.pick(PLURAL_DETERMINERS + NUMBERS)]
        else:
            words = [self.pick(SINGULAR_DETERMINERS)]
        if self.chance(0.5):
            words.append(self.pick(ADJECTIVES[kind]))
        words.append(noun)
        if words[0] == "a" and words[1][0] in "aeiou":
            words[0] = "an"
        return words

    def verb_phrase(self, subject_kind: str, plural: bool, base: bool = False) -> list[str]:
        forms, _, objects = self.pick([v for v in VERBS if subject_kind in v[1]])
        words = [forms[1] if plural or base else forms[0]]
        return words + self.noun_phrase(objects, self.chance(0.4))

    def clause(self) -> list[str]:
        """Subject, optional adverb, verb phrase, optional place and time."""
        kind, plural = self.pick(ANIMATE), self.chance(0.4)
        words = self.noun_phrase((kind,), plural)
        if self.chance(0.25):  # a relative clause delays the main verb's agreement
            words += ["who" if kind == "person" else "that"]
            words += self.verb_phrase(kind, plural)
        if self.chance(0.3):
            words.append(self.pick(ADVERBS))
        words += self.verb_phrase(kind, plural)
        if self.chance(0.35):
            words += [self.pick(PREPOSITIONS), "the", self.pick(PLACES)]
        if self.chance(0.25):
            words += self.pick(TIMES).split()
        return words

    def statement(self) -> list[str]:
        words = self.clause()
        if self.chance(0.2):
            words += ([","] if self.chance(0.5) else []) + [self.pick(CONNECTIVES)]
            words += self.clause()
        return words + ["."]

    def description(self) -> list[str]:
        kind, plural = self.pick(list(NOUNS)), self.chance(0.5)
        words = self.noun_phrase((kind,), plural)
        return words + ["are" if plural else "is", self.pick(PREDICATES[kind]), "."]

    def existential(self) -> list[str]:
        kind, plural = self.pick(list(NOUNS)), self.chance(0.5)
        return (["there", "are" if plural else "is"] + self.noun_phrase((kind,), plural)
                + [self.pick(PREPOSITIONS), "the", self.pick(PLACES), "."])

    def question(self) -> list[str]:
        kind, plural = self.pick(ANIMATE), self.chance(0.5)
        words = ["do" if plural else "does"] + self.noun_phrase((kind,), plural)
        return words + self.verb_phrase(kind, plural, base=True) + ["?"]

    def sentence(self) -> str:
        form = self.pick([self.statement] * 6 + [self.description, self.existential,
                                                 self.question])
        return _render(form())


def _render(words: list[str]) -> str:
    """Join words into text: capital first letter, no space before punctuation."""
    text = " ".join(words).replace(" ,", ",").replace(" .", ".").replace(" ?", "?")
    return text[0].upper() + text[1:]


def sentence_bucket(text: str) -> int:
    """Which of ten disjoint pools (0-9) ``text`` belongs to, by a hash of its text."""
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) % 10


STIMULUS_BUCKETS, TEST_BUCKETS, TRAIN_BUCKETS = (0,), (1,), tuple(range(2, 10))


def generate_sentences(n: int, seed: int | np.random.SeedSequence,
                       buckets: Iterable[int] = tuple(range(10)),
                       unique: bool = False) -> list[str]:
    """``n`` sentences drawn from the grammar with generator seed ``seed``, kept only when they
    fall in one of ``buckets`` (see ``sentence_bucket``), without repeats if ``unique``.

    The same arguments always give the same list.
    """
    n, wanted = _positive(n, "n"), frozenset(buckets)
    grammar = _Grammar(np.random.default_rng(seed))
    chosen: list[str] = []
    seen: set[str] = set()
    # The grammar has millions of sentences, so the draws needed stay near n × 10 / |buckets|.
    for _ in range(1000 * n):
        text = grammar.sentence()
        if sentence_bucket(text) in wanted and not (unique and text in seen):
            chosen.append(text)
            seen.add(text)
            if len(chosen) == n:
                return chosen
    raise InputError(f"could not draw {n} sentences from buckets {sorted(wanted)}")


def training_corpus(seed: int, train_sentences: int, test_sentences: int
                    ) -> tuple[list[str], list[str]]:
    """The generated training corpus and its held-out test split (disjoint from each other and
    from ``generated_sentences``)."""
    train_seed, test_seed = np.random.SeedSequence([seed, 1]), np.random.SeedSequence([seed, 2])
    return (generate_sentences(train_sentences, train_seed, TRAIN_BUCKETS),
            generate_sentences(test_sentences, test_seed, TEST_BUCKETS, unique=True))


def generated_sentences(n: int = 300, seed: int = 0) -> SentenceSet:
    """The embedded stimulus set (the STSB stand-in): ``n`` unique generated sentences that
    never occur in a generated training corpus, ids ``generated/<index>``."""
    texts = generate_sentences(n, np.random.SeedSequence([seed, 0]), STIMULUS_BUCKETS,
                               unique=True)
    return SentenceSet("generated", texts, [f"generated/{i}" for i in range(len(texts))])


def load_sentence_set(spec: dict) -> SentenceSet:
    """A sentence set from the config section ``sentences`` (the schema's defaults fill what
    ``spec`` leaves out): ``name: generated`` gives :func:`generated_sentences` (``sentences``,
    ``seed``), ``name: stsb`` gives :func:`stsb_sentences` (``root``, ``split``,
    ``max_sentences``)."""
    from ..config import with_defaults

    spec = with_defaults("sentences", spec)
    if spec["name"] == "generated":
        return generated_sentences(spec["sentences"], spec["seed"])
    if spec["root"] is None:
        raise InputError("sentences.root: the STSB folder is required for name 'stsb'")
    return stsb_sentences(spec["root"], spec["split"], spec["max_sentences"])


def _positive(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InputError(f"{name}: expected a positive integer, got {value!r}")
    return int(value)
