"""The two-point effective theory: the ODE's invariants, its long-time limit, the fit, and the
measurement on a real torch network."""

import numpy as np
import pytest
import torch
from torch import nn

from convergent.theory import (
    conserved,
    final_distance,
    fit_loss_rate,
    fit_rates,
    loss,
    solve,
)
from convergent.theory.measure import TwoPoint, measure

DX2, DY2 = 1.0, 0.5
RICH = (1e-3, 1e-3, 0.0)  # small initial distances: the rich regime
LAZY = (2.0, 0.1, 0.05)


@pytest.mark.parametrize("initial", [RICH, LAZY, (0.3, 0.8, 0.9)])
@pytest.mark.parametrize("eta_h,eta_y", [(0.01, 0.02), (0.05, 0.005)])
def test_the_conserved_quantity_stays_constant(initial, eta_h, eta_y):
    t = np.linspace(0, 3000, 400)
    h, y, _ = solve(initial, eta_h, eta_y, DX2, DY2, t).T
    c = conserved(h, y, eta_h / eta_y, DX2)
    assert np.ptp(c) < 1e-5 * max(1.0, abs(c[0]))


@pytest.mark.parametrize("initial", [RICH, LAZY, (0.3, 0.8, 0.9)])
def test_the_final_distance_is_the_long_time_limit(initial):
    eta_h, eta_y = 0.02, 0.01
    t = np.linspace(0, 20000, 50)
    h, y, w = solve(initial, eta_h, eta_y, DX2, DY2, t)[-1]
    assert w == pytest.approx(0, abs=1e-6) and y == pytest.approx(DY2, abs=1e-6)
    c = conserved(initial[0], initial[1], eta_h / eta_y, DX2)
    assert h == pytest.approx(final_distance(c, eta_h / eta_y, DX2, DY2), rel=1e-5)


def test_rich_regime_forgets_the_initialisation():
    ratio = 2.0
    expected = np.sqrt(ratio * DX2 * DY2)  # h(∞) = (η_h/η_y)^½ ‖Δx‖ ‖Δy*‖ when C = 0
    assert final_distance(0.0, ratio, DX2, DY2) == pytest.approx(expected)
    lazy = final_distance(conserved(50.0, 0.1, ratio, DX2), ratio, DX2, DY2)
    assert lazy == pytest.approx(50.0, rel=0.02)  # the representation barely moves


@pytest.mark.parametrize("eta_h,eta_y", [(0.004, 0.012), (0.03, 0.002)])
def test_the_fit_recovers_known_rates(eta_h, eta_y):
    t = np.linspace(0, 2000, 120)
    rng = np.random.default_rng(0)
    truth = solve((0.01, 0.02, 0.015), eta_h, eta_y, DX2, DY2, t)
    noisy = truth * (1 + 0.002 * rng.standard_normal(truth.shape))
    noisy[0] = truth[0]
    fit = fit_rates(t, *noisy.T, DX2, DY2)
    assert fit.eta_h == pytest.approx(eta_h, rel=0.05)
    assert fit.eta_y == pytest.approx(eta_y, rel=0.05)
    assert min(fit.r2.values()) > 0.99


@pytest.mark.parametrize("initial", [RICH, (0.3, 0.8, 0.9)])
def test_the_ratio_that_keeps_c_constant_is_the_true_one_and_lsoda_agrees_with_radau(initial):
    """The fit's starting ratio comes from the conserved quantity in closed form; the default
    solver (LSODA) must agree with Radau, the stiff solver the spec names."""
    from convergent.theory.fit import conserved_ratio

    t = np.linspace(0, 3000, 200)
    fast = solve(initial, 0.01, 0.04, DX2, DY2, t)
    radau = solve(initial, 0.01, 0.04, DX2, DY2, t, method="Radau")
    np.testing.assert_allclose(fast, radau, rtol=1e-5, atol=1e-8)
    assert conserved_ratio(fast[:, 0], fast[:, 1], DX2) == pytest.approx(0.25, rel=1e-4)
    assert np.isnan(conserved_ratio(np.ones(5), np.zeros(5), DX2))  # nothing moved


def test_the_loss_rate_is_recovered():
    t = np.linspace(0, 500, 60)
    h, y, w = solve((0.01, 0.02, 0.015), 0.01, 0.01, DX2, DY2, t).T
    measured = loss(t, y, w, DY2, 0.3, 0.007)
    rate, r2 = fit_loss_rate(t, measured, y, w, DY2, 0.3)
    assert rate == pytest.approx(0.007, rel=1e-4) and r2 > 0.999


def test_measurement_by_hand_on_a_tiny_network():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(1, 3), nn.Tanh(), nn.Linear(3, 2)).double()
    points = TwoPoint(torch.tensor([-1.0], dtype=torch.float64),
                      torch.tensor([0.0], dtype=torch.float64),
                      torch.tensor([0.6, 0.1], dtype=torch.float64),
                      torch.tensor([0.6 + 0.5 ** 0.5, -0.2], dtype=torch.float64))
    got = measure(model, model[1], points)
    first, second = model[0], model[2]
    with torch.no_grad():
        rep = [torch.tanh(first.weight @ x + first.bias) for x in (points.x_a, points.x_b)]
        out = [second.weight @ r + second.bias for r in rep]
    d_out = out[1] - out[0]
    d_target = points.target_b - points.target_a
    assert got["h"] == pytest.approx(float(((rep[1] - rep[0]) ** 2).sum()))
    assert got["y"] == pytest.approx(float((d_out ** 2).sum()))
    assert got["w"] == pytest.approx(float(d_out @ d_out - d_target @ d_out))
    errors = [float(((o - t) ** 2).sum()) for o, t in zip(out, (points.target_a,
                                                                  points.target_b), strict=True)]
    assert got["loss"] == pytest.approx(0.25 * sum(errors))
    # the loss formula of the theory holds exactly at t = 0
    assert got["loss"] == pytest.approx(float(loss(0.0, got["y"], got["w"], points.dy2,
                                                   got["mean_gap"], 0.1)))
    assert points.dx2 == 1.0 and points.dy2 == pytest.approx(0.5 + 0.09)


def test_the_theory_explains_the_default_deep_network():
    """The paper's default: 20 × 500 leaky-ReLU MLP, Xavier gain 1, full-batch SGD lr 0.01 for
    3000 epochs on the two 1-D points, hidden layer 10 (about 30 s here)."""
    from convergent.theory.experiment import default_points, fit_trajectory, train_two_points
    from convergent.theory.networks import build_network

    torch.set_num_threads(2)
    points = default_points()
    model, layer = build_network({"kind": "mlp", "depth": 20, "width": 500,
                                  "activation": "leaky_relu", "gain": 1.0, "layer": 10}, seed=0)
    trajectory = train_two_points(model, layer, points, lr=0.01, epochs=3000, record_every=10)
    assert trajectory.y.iloc[-1] == pytest.approx(points.dy2, rel=1e-3)  # it learned the pair
    fit, _ = fit_trajectory(trajectory, points.dx2, points.dy2)
    assert fit["r2_h"] >= 0.95 and fit["r2_y"] >= 0.95 and fit["r2_w"] >= 0.7, fit
    assert fit["r2_loss"] >= 0.95, fit
