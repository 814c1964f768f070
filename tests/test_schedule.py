"""Learning-rate schedules per step (convergent.training.schedule) against torch's own
schedulers, and the checkpoint axis with its labels (convergent.training.axis)."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from convergent.training.axis import (
    checkpoint_axis,
    epoch_label,
    epoch_value,
    sub_epoch_steps,
)
from convergent.training.schedule import learning_rate


def torch_rates(base, steps_per_epoch, epochs, schedule, warmup_epochs, milestones, factor):
    """The rate of every step as torch's schedulers give it: LinearLR for the warmup, then
    MultiStepLR or CosineAnnealingLR, chained by SequentialLR, stepped once per step."""
    optimiser = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base)
    lr = torch.optim.lr_scheduler
    warmup, total = round(warmup_epochs * steps_per_epoch), epochs * steps_per_epoch
    if schedule == "step":
        main = lr.MultiStepLR(optimiser, [m * steps_per_epoch - warmup for m in milestones],
                              gamma=factor)
    elif schedule == "cosine":
        # a warmup as long as the run leaves no cosine step; torch cannot build T_max = 0
        main = lr.CosineAnnealingLR(optimiser, T_max=max(1, total - warmup))
    else:
        main = lr.LambdaLR(optimiser, lambda _: 1.0)
    if warmup:
        ramp = lr.LinearLR(optimiser, start_factor=1 / warmup, end_factor=1.0,
                           total_iters=warmup - 1)
        main = lr.SequentialLR(optimiser, [ramp, main], milestones=[warmup])
    rates = []
    for _ in range(total):
        rates.append(optimiser.param_groups[0]["lr"])
        optimiser.step()
        main.step()
    return rates


@settings(max_examples=40, deadline=None)
@given(schedule=st.sampled_from(["constant", "step", "cosine"]),
       steps_per_epoch=st.integers(1, 12), epochs=st.integers(2, 12),
       warmup_epochs=st.sampled_from([0, 0.5, 1, 1.5]),
       factor=st.sampled_from([0.1, 0.5]), base=st.floats(1e-4, 1.0), data=st.data())
def test_the_schedules_match_torchs_schedulers_step_by_step(schedule, steps_per_epoch, epochs,
                                                            warmup_epochs, factor, base, data):
    first = math.floor(warmup_epochs) + 1  # milestones after the warmup, as torch needs
    milestones = sorted(data.draw(st.sets(st.integers(first, epochs + 2), max_size=3)))
    expected = torch_rates(base, steps_per_epoch, epochs, schedule, warmup_epochs, milestones,
                           factor)
    ours = [learning_rate(t, base, steps_per_epoch, epochs, schedule, warmup_epochs,
                          milestones, factor) for t in range(epochs * steps_per_epoch)]
    assert ours == pytest.approx(expected, rel=1e-6, abs=1e-12)


def test_the_published_resnet_recipe_divides_by_ten_at_epochs_30_and_60():
    def rate(step):
        return learning_rate(step, 0.1, 10, 90, "step", 0, [30, 60], 0.1)

    assert [rate(0), rate(299), rate(300), rate(599), rate(600), rate(899)] == pytest.approx(
        [0.1, 0.1, 0.01, 0.01, 0.001, 0.001])


def test_a_warmup_rises_linearly_then_the_cosine_falls_to_zero():
    rates = [learning_rate(t, 1.0, 4, 10, "cosine", warmup_epochs=1) for t in range(40)]
    assert rates[:4] == pytest.approx([0.25, 0.5, 0.75, 1.0])
    decaying = zip(rates[4:], rates[5:], strict=False)
    assert rates[4] == pytest.approx(1.0) and all(a > b for a, b in decaying)
    assert rates[-1] == pytest.approx(0.5 * (1 + math.cos(math.pi * 35 / 36)))


def test_the_moco_cosine_per_step_meets_the_per_epoch_formula_at_each_epoch_start():
    epochs, steps = 5, 7
    for epoch in range(1, epochs + 1):
        per_epoch = 0.03 * 0.5 * (1 + math.cos(math.pi * (epoch - 1) / epochs))
        assert learning_rate((epoch - 1) * steps, 0.03, steps, epochs,
                             "cosine") == pytest.approx(per_epoch)


def test_an_unknown_schedule_names_the_key():
    with pytest.raises(ValueError, match="train.schedule: unknown schedule 'linear'"):
        learning_rate(0, 0.1, 10, 3, "linear")


@given(st.integers(1, 999_999))
def test_a_fraction_has_one_stable_label(millionths):
    written = f"{millionths / 1e6:.6f}".rstrip("0")
    assert epoch_label(float(written)) == written
    assert epoch_label(epoch_value(written)) == written
    assert epoch_label(millionths / 1e6 + 1e-15) == written  # binary noise is dropped


def test_whole_epochs_are_labelled_as_integers():
    assert epoch_label(3) == epoch_label(3.0) == "3" and epoch_value(3.0) == 3
    assert isinstance(epoch_value(3.0), int)
    assert epoch_label(0.1 + 0.2) == "0.3" and epoch_value(0.1 + 0.2) == 0.3


def test_the_axis_keeps_the_asked_epochs_both_ends_and_the_fractions_of_epoch_one():
    assert checkpoint_axis(3) == [0, 1, 2, 3]
    assert checkpoint_axis(90, keep=range(11)) == [*range(11), 90]
    assert checkpoint_axis(300, keep=range(26)) == [*range(26), 300]
    assert checkpoint_axis(5, keep=[2], sub_epochs=[0.3, 0.01]) == [0, 0.01, 0.3, 2, 5]
    with pytest.raises(ValueError, match="train.keep: epoch 95 is outside"):
        checkpoint_axis(90, keep=[95])
    with pytest.raises(ValueError, match="train.sub_epochs: 1.5 is not a fraction"):
        checkpoint_axis(3, sub_epochs=[1.5])


def test_a_fraction_is_checkpointed_after_its_share_of_the_steps():
    axis = checkpoint_axis(2, sub_epochs=[0.01, 0.03, 0.1, 0.3])
    assert sub_epoch_steps(axis, 1000) == {10: [0.01], 30: [0.03], 100: [0.1], 300: [0.3]}
    # with few steps, nearby fractions share a step, and none comes before the first
    assert sub_epoch_steps(axis, 20) == {1: [0.01, 0.03], 2: [0.1], 6: [0.3]}
    assert sub_epoch_steps([0, 1, 2], 20) == {}
