"""OOD accuracy: the 1000 → 16 category mapping of ood.md, decided by the mean probability, and
plain accuracy for other models."""

import re

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from convergent.data import CATEGORIES, category_probabilities, ood_accuracy
from convergent.data.ood_scoring import IMAGENET16_INDICES
from convergent.errors import InputError

# ood.md's index list, verbatim, parsed here independently of the package's table
SPEC = """airplane 404; bear 294-297; bicycle 444, 671; bird 8, 10-16, 18-20, 22-24, 80-83, 87-96,
98-100, 127-133, 135-145; boat 472, 554, 625, 814, 914; bottle 440, 720, 737, 898, 899, 901, 907;
car 436, 511, 817; cat 281-286; chair 423, 559, 765, 857; clock 409, 530, 892;
dog 152-191, 193-203, 205-226, 228-241, 243-250, 252-257, 259, 261-263, 265-268; elephant 385,
386; keyboard 508, 878; knife 499; oven 766; truck 555, 569, 656, 675, 717, 734, 864, 867."""


def spec_indices():
    table = {}
    for entry in SPEC.replace("\n", " ").rstrip(".").split(";"):
        category, numbers = entry.strip().split(" ", 1)
        indices = []
        for part in re.split(r",\s*", numbers.strip()):
            first, _, last = part.partition("-")
            indices += list(range(int(first), int(last or first) + 1))
        table[category] = indices
    return table


def test_index_lists_are_those_of_the_spec():
    assert spec_indices() == IMAGENET16_INDICES
    assert list(IMAGENET16_INDICES) == CATEGORIES
    counts = {c: len(i) for c, i in IMAGENET16_INDICES.items()}
    assert counts["bird"] == 49 and counts["dog"] == 109 and counts["bear"] == 4
    assert counts["cat"] == 6 and counts["truck"] == 8 and counts["bottle"] == 7
    assert counts["airplane"] == counts["knife"] == counts["oven"] == 1
    assert sum(counts.values()) == 207


def test_index_lists_are_disjoint_imagenet_classes():
    every = [i for indices in IMAGENET16_INDICES.values() for i in indices]
    assert len(set(every)) == len(every) and min(every) >= 0 and max(every) < 1000


def probabilities_as_logits(p):
    return np.log(np.asarray(p))


def test_the_mean_probability_decides_not_the_sum_or_the_maximum():
    p = np.zeros(1000)
    p[IMAGENET16_INDICES["dog"]] = 0.004  # sum 0.436: the sum would answer dog
    p[IMAGENET16_INDICES["bear"][0]] = 0.1  # max 0.1, mean 0.025: the maximum would say bear
    p[IMAGENET16_INDICES["knife"]] = 0.05  # mean 0.05: the mean says knife
    free = [i for i in range(1000) if p[i] == 0]
    p[free] = (1 - p.sum()) / len(free)  # the rest spread over unmapped and other classes
    logits = probabilities_as_logits(p)[None]
    scores = category_probabilities(logits)[0]
    by = {rule: max(CATEGORIES, key=lambda c: rule(p[IMAGENET16_INDICES[c]]))
          for rule in (np.sum, np.max, np.mean)}
    assert (by[np.sum], by[np.max], by[np.mean]) == ("dog", "bear", "knife")
    assert np.allclose(scores, [p[IMAGENET16_INDICES[c]].mean() for c in CATEGORIES])
    assert CATEGORIES[int(scores.argmax())] == "knife"
    knife, dog, bear = (CATEGORIES.index(c) for c in ("knife", "dog", "bear"))
    assert ood_accuracy(logits, [knife], imagenet16=True) == 1.0
    assert ood_accuracy(logits, [dog], imagenet16=True) == 0.0
    assert ood_accuracy(logits, [bear], imagenet16=True) == 0.0


@given(st.integers(0, 2**32 - 1), st.floats(-50, 50))
def test_category_scores_ignore_a_common_shift_and_order_within_a_category(seed, shift):
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((3, 1000)) * 3
    scores = category_probabilities(logits)
    assert torch.allclose(category_probabilities(logits + shift), scores, atol=1e-12)
    dog = IMAGENET16_INDICES["dog"]
    shuffled = logits.copy()
    shuffled[:, dog] = logits[:, rng.permutation(dog)]
    assert torch.allclose(category_probabilities(shuffled), scores, atol=1e-12)
    assert float(scores.sum(1).max()) < 1  # means of probabilities, not a distribution


def test_plain_accuracy_is_the_argmax_of_the_outputs():
    logits = torch.tensor([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [0.0, 0.0, 1.0], [5.0, 0.0, 0.0]])
    assert ood_accuracy(logits, torch.tensor([0, 1, 0, 0]), imagenet16=False) == 0.75


def test_summary_counts_only_the_conditions_the_published_summary_counts():
    logits = torch.tensor([[0.0, 1.0], [1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    labels = [1, 1, 0, 1]  # right, wrong, right, right
    ids = ["contrast/c100/a.png", "contrast/c50/b.png", "contrast/0.3/c", "contrast/0.01/d"]
    assert ood_accuracy(logits, labels, imagenet16=False) == 0.75
    # c100 and 0.01 are left out: b is wrong, c is right
    assert ood_accuracy(logits, labels, imagenet16=False, ids=ids, summary=True) == 0.5
    assert ood_accuracy(logits[:2], labels[:2], imagenet16=False, ids=ids[:2],
                        summary=True) == 0.0
    with pytest.raises(InputError, match="no stimulus is in a condition"):
        ood_accuracy(logits[:1], labels[:1], imagenet16=False, ids=ids[:1], summary=True)


@pytest.mark.parametrize("call,message", [
    (lambda: ood_accuracy(np.zeros((2, 10)), [0, 1], imagenet16=True), "needs 1000 ImageNet"),
    (lambda: ood_accuracy(np.zeros((2, 1000)), [0, 16], imagenet16=True), r"must lie in 0\.\.15"),
    (lambda: ood_accuracy(np.zeros((2, 3)), [0, 1, 2], imagenet16=False), "expected 2 integer"),
    (lambda: ood_accuracy(np.zeros((2, 3)), [0.0, 1.0], imagenet16=False), "integer labels"),
    (lambda: ood_accuracy(np.full((1, 3), np.nan), [0], imagenet16=False), "NaN or infinite"),
    (lambda: ood_accuracy(np.zeros(3), [0], imagenet16=False), "expected a non-empty 2-D"),
    (lambda: ood_accuracy(np.zeros((1, 3)), [0], imagenet16=False, summary=True),
     "summary accuracy needs 1 stimulus ids"),
    (lambda: ood_accuracy(np.zeros((1, 3)), [0], imagenet16=False, ids=["x"], summary=True),
     "'x' is not an OOD stimulus id"),
])
def test_bad_scoring_input_is_one_clear_error(call, message):
    with pytest.raises(InputError, match=message):
        call()
