"""The theory's experiments: networks of every variant, the run plan, runs, tables, checks and
figures, and the CLI verbs the workflow calls."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from convergent.errors import InputError
from convergent.plan.theory import theory_figures, theory_runs
from convergent.theory import solve
from convergent.theory.digits import digit_pair_run, followed_pair, load_digit_images, read_idx
from convergent.theory.experiment import (
    default_points,
    fit_trajectory,
    half_mse,
    sgd_step,
    two_point_run,
)
from convergent.theory.measure import measure
from convergent.theory.networks import build_network, input_size
from convergent.theory.results import (
    checks,
    collect,
    depth_gain,
    depth_table,
    final_distance_by_architecture,
    final_distances,
    run_one,
    summary_markdown,
    sweep_movement,
)

from smk import ROOT

SCHEMA = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())
THEORY = SCHEMA["properties"]["theory"]["properties"]
VARIANTS = THEORY["variants"]["default"]


def theory_config(**overrides) -> dict:
    """The theory section with every schema default filled, as the workflow sees it."""
    from snakemake.utils import validate

    config = {"theory": overrides}
    validate(config, str(ROOT / "workflow" / "schemas" / "config.schema.yaml"), set_default=True)
    return config["theory"]


@pytest.mark.parametrize("name", list(VARIANTS))
def test_every_variant_builds_and_exposes_its_hidden_layer(name):
    spec = {**VARIANTS[name], "width": 12} if "width" in VARIANTS[name] else VARIANTS[name]
    model, layer = build_network(spec, seed=0, d_in=input_size(spec))
    seen = {}
    layer.register_forward_hook(lambda _m, _i, out: seen.__setitem__("h", out))
    points = default_points(length=input_size(spec))
    out = model(torch.stack([points.x_a, points.x_b]))
    assert out.shape == (2, 1)
    units = spec["channels"] * spec["length"] if spec["kind"] == "cnn" else spec["width"]
    assert seen["h"].flatten(1).shape == (2, units)
    # Xavier-normal with the variant's gain, zero biases
    biases = [p for n, p in model.named_parameters() if n.endswith("bias")]
    assert all(float(b.detach().abs().max()) == 0.0 for b in biases)


def test_same_seed_same_network_and_the_cnn_points_keep_dx2():
    spec = {**VARIANTS["default"], "width": 16}
    a, _ = build_network(spec, seed=3)
    b, _ = build_network(spec, seed=3)
    c, _ = build_network(spec, seed=4)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    assert not torch.equal(a[0].weight, c[0].weight)
    points = default_points(dx=1.5, dy=0.5, length=16)
    assert points.dx2 == pytest.approx(2.25) and points.dy2 == pytest.approx(0.25)


def test_a_layer_beyond_the_network_and_an_unknown_kind_are_clear_errors():
    with pytest.raises(InputError, match="layer 30"):
        build_network({**VARIANTS["default"], "width": 4, "layer": 30}, seed=0)
    with pytest.raises(InputError, match="unknown network kind"):
        build_network({**VARIANTS["default"], "kind": "transformer"}, seed=0)


def test_dropout_is_off_while_measuring():
    spec = {**VARIANTS["dropout"], "width": 32, "dropout": 0.5}
    model, layer = build_network(spec, seed=0)
    model.eval()
    first, second = measure(model, layer, default_points()), measure(model, layer,
                                                                      default_points())
    assert first == second
    run = two_point_run(_spec("dropout", spec, epochs=5))
    assert run.h.notna().all() and len(run) == 6


def _spec(name, variant, epochs=60, **extra):
    variant = dict(variant)
    return {"experiment": "architectures", "run": name, "seed": 0, "architecture": name,
            "variant": variant, "lr": variant.pop("lr"), "epochs": epochs, "record_every": 1,
            "dx": 1.0, "dy": 0.5 ** 0.5, "fit": True, **extra}


@pytest.mark.parametrize("name", ["default", "cnn"])
def test_the_sgd_step_is_torchs_plain_sgd(name):
    """The theory's own update (no torch.optim, whose import costs a job a second) leaves
    every parameter exactly where torch.optim.SGD with its defaults does."""
    variant = {**VARIANTS[name], "width": 16}
    points = default_points(length=input_size(variant))
    inputs = torch.stack([points.x_a, points.x_b])
    targets = torch.stack([points.target_a, points.target_b])
    ours, theirs, start = (build_network(variant, seed=3, d_in=inputs.shape[1])[0]
                           for _ in range(3))
    optimiser = torch.optim.SGD(theirs.parameters(), lr=0.05)
    for _ in range(20):
        half_mse(ours(inputs), targets).backward()
        sgd_step(list(ours.parameters()), 0.05)
        optimiser.zero_grad()
        half_mse(theirs(inputs), targets).backward()
        optimiser.step()
    assert not all(torch.equal(p, q)
                   for p, q in zip(ours.parameters(), start.parameters(), strict=True))
    for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
        assert torch.equal(p, q) and p.grad is None


def test_the_tangent_kernel_scaling_keeps_a_large_gain_run_finite():
    """A fixed learning rate diverges for a deep net at gain 2; the sweep's scaling does not."""
    variant = {**VARIANTS["default"], "width": 32, "gain": 2.0}
    fixed = two_point_run(_spec("default", variant, epochs=200))
    assert not np.isfinite(fixed[["h", "y", "w"]].to_numpy()).all()
    with pytest.raises(InputError, match="not finite"):
        fit_trajectory(fixed, 1.0, 0.5)
    scaled = two_point_run(_spec("default", variant, epochs=200, lr_scale="ntk",
                                 reference_gain=1.0))
    assert np.isfinite(scaled[["h", "y", "w"]].to_numpy()).all()
    assert scaled.attrs["lr"] < 0.01 * 1e-3  # the kernel is orders of magnitude larger


def test_the_run_plan_of_the_schema_defaults():
    theory = theory_config()
    runs = theory_runs(theory)
    count = pd.Series([r["experiment"] for r in runs]).value_counts().to_dict()
    # final distance: 50 base trials and the 5 × 5 grid for each of the 11 variants; depth: 4
    # variants × 3 seeds
    assert count == {"architectures": 11 * 3, "sweep": 7 * 3, "final_distance": 11 * (50 + 25),
                     "depth": 4 * 3, "digits": 1}
    keys = [(r["experiment"], r["run"], r["seed"]) for r in runs]
    assert len(set(keys)) == len(keys)
    assert {r["run"] for r in runs if r["experiment"] == "sweep"} >= {"gain0.9", "gain2"}
    default = next(r for r in runs if r["run"] == "default")
    assert default["variant"]["width"] == 500 and default["lr"] == 0.01
    assert theory_figures(theory) == ["theory_trajectories", "theory_loss", "theory_sweep",
                                      "theory_final_distance", "theory_depth", "theory_digits"]
    depth = next(r for r in runs if r["experiment"] == "depth" and r["run"] == "default")
    assert depth["layers"] == list(range(1, 21))
    digits = next(r for r in runs if r["experiment"] == "digits")
    assert digits["variant"]["depth"] == 4 and digits["variant"]["width"] == 100
    base = [r for r in runs if r["run"] == "tanh_base"]
    assert sorted(r["seed"] for r in base) == list(range(50))
    assert {r["placement"] for r in runs if r["experiment"] == "final_distance"} == {"paper"}


def test_the_plan_caps_widths_and_names_bad_variants():
    runs = theory_runs(theory_config(max_width=100, experiments=["architectures"]))
    widths = {r["run"]: r["variant"].get("width") for r in runs}
    assert widths["default"] == 100 and widths["narrow"] == 50 and widths["cnn"] is None
    with pytest.raises(ValueError, match="theory.architectures: no variant named wide"):
        theory_runs(theory_config(architectures=["wide"]))
    bad = {**VARIANTS, "deep": {**VARIANTS["default"], "depth": 3, "layer": 5}}
    with pytest.raises(ValueError, match="theory.variants.deep.layer"):
        theory_runs(theory_config(variants=bad, architectures=["deep"]))


def _ode_trajectory(run, dx, dy, eta_h=0.01, eta_y=0.2, epochs=4000, architecture="default"):
    """A trajectory that follows the ODE exactly, labelled like a grid run."""
    t = np.linspace(0, epochs, 200)
    h, y, w = solve((1e-3, 1e-5, 0.0), eta_h, eta_y, dx ** 2, dy ** 2, t).T
    return pd.DataFrame({"experiment": "final_distance", "run": run,
                         "architecture": architecture, "seed": 0, "gain": 1.0, "dx": dx,
                         "dy": dy, "dx2": dx ** 2, "dy2": dy ** 2, "epoch": t, "h": h, "y": y,
                         "w": w, "loss": 0.0})


def test_final_distances_agree_on_trajectories_that_follow_the_ode():
    grid = [(dx, dy) for dx in (0.5, 1.0, 1.5) for dy in (0.25, 0.5, 1.0)]
    trajectories = pd.concat([_ode_trajectory(f"default_dx{dx}_dy{dy}", dx, dy)
                              for dx, dy in grid])
    # two base trials whose rates straddle the true ratio 0.05: the geometric mean recovers it
    fits = pd.DataFrame([{"experiment": "final_distance", "run": "default_base",
                          "architecture": "default", "seed": s, "eta_h": eta_h, "eta_y": 0.2}
                         for s, eta_h in ((0, 0.005), (1, 0.02))])
    table = final_distances(trajectories, fits)
    assert len(table) == 9 and set(table.architecture) == {"default"}
    assert (table.trials == 2).all()
    np.testing.assert_allclose(table.eta_ratio, 0.05)
    np.testing.assert_allclose(table.measured, table.predicted, rtol=1e-3)
    np.testing.assert_allclose(table.ratio, 1.0, rtol=1e-3)
    # and a wrong ratio is visible: the formula is not fitted to the grid
    wrong = final_distances(trajectories, fits.assign(eta_h=0.05))
    assert not np.allclose(wrong.measured, wrong.predicted, rtol=0.05)


def test_every_architecture_gets_its_own_rates_and_row():
    """Two architectures on the same grid: each is predicted with its own base trials, and a
    grid without base trials is left out rather than predicted with another's rates."""
    grid = [(dx, dy) for dx in (0.5, 1.5) for dy in (0.5, 1.0)]
    trajectories = pd.concat(
        [_ode_trajectory(f"{name}_dx{dx}_dy{dy}", dx, dy, eta_h=eta_h, architecture=name)
         for name, eta_h in (("a", 0.01), ("b", 0.04), ("c", 0.01)) for dx, dy in grid])
    fits = pd.DataFrame([{"experiment": "final_distance", "run": f"{name}_base",
                          "architecture": name, "seed": 0, "eta_h": eta_h, "eta_y": 0.2}
                         for name, eta_h in (("a", 0.01), ("b", 0.04))])
    table = final_distances(trajectories, fits)
    assert sorted(set(table.architecture)) == ["a", "b"]
    per = final_distance_by_architecture(table).set_index("architecture")
    assert (per.r2 > 0.999).all() and np.allclose(per.median_ratio, 1.0, rtol=1e-3)
    swapped = final_distances(trajectories, fits.assign(architecture=["b", "a"],
                                                        run=["b_base", "a_base"]))
    assert (final_distance_by_architecture(swapped).r2 < 0.99).all()


def test_sweep_movement_and_the_checks():
    rows = []
    for gain, h_end in ((0.9, 50.0), (2.0, 1.05)):
        rows += [{"experiment": "sweep", "gain": gain, "seed": 0, "epoch": e, "h": h,
                  "loss": 0.0} for e, h in ((0, 1.0), (10, h_end))]
    sweep = sweep_movement(pd.DataFrame(rows))
    np.testing.assert_allclose(sweep.relative_movement, [49.0, 0.05])
    fits = pd.DataFrame([{"experiment": "architectures", "architecture": "default",
                          "gain": 1.0, "seed": 0, "r2_h": 0.99, "r2_y": 0.97, "r2_w": 0.6,
                          "r2_loss": 0.9},
                         {"experiment": "digits", "architecture": "mlp4x100", "gain": 0.5,
                          "seed": 0,
                          "r2_h": 0.9, "r2_y": 0.9, "r2_w": 0.9, "r2_loss": 0.95}]
                        + [{"experiment": "depth", "architecture": "default", "seed": 0,
                            "layer": k, "r2_h": r2, "r2_y": 0.9, "r2_w": 0.8, "eta_h": 1e-3,
                            "eta_y": 1e-2} for k, r2 in ((1, 0.5), (2, 0.7), (3, 0.9),
                                                         (4, 0.95))])
    grid = pd.DataFrame({"architecture": ["a"] * 3 + ["b"] * 3,
                         "measured": [1.0, 2.0, 3.0, 1.0, 2.0, 3.0],
                         "predicted": [1.1, 2.0, 2.9, 2.0, 1.0, 2.0], "trials": 2})
    grid["ratio"] = grid.measured / grid.predicted
    tables = {"fits": fits, "final_distance": grid, "sweep": sweep,
              "depth": depth_table(fits)}
    found = {c["check"]: c for c in checks(tables)}
    verdicts = [c["verdict"] for c in found.values()]
    # r2_h, r2_y pass, r2_w fails, architecture a passes, b fails, sweep, digits, depth pass
    assert verdicts == ["pass", "pass", "FAIL", "pass", "FAIL", "pass", "pass", "pass"]
    assert all(c["source"] for c in found.values())
    depth = depth_gain(tables["depth"]).iloc[0]
    assert depth.early == pytest.approx(0.6) and depth.late == pytest.approx(0.925)
    summary = summary_markdown(tables)
    assert "| final distance, b: R² of measured vs predicted h(∞) |" in summary
    assert summary.count("| FAIL |") == 2 and "## Fit per hidden layer" in summary
    empty = checks({"fits": fits.iloc[:0], "final_distance": grid.iloc[:0],
                    "sweep": sweep.iloc[:0]})
    assert {c["verdict"] for c in empty} == {"n/a"}


def test_the_digit_pair_is_one_zero_and_one_one_per_seed():
    images, labels = load_digit_images("digits", None)
    assert images.shape == (1797, 64) and float(images.max()) <= 1.0
    a, b = followed_pair(labels, (0, 1), seed=0)
    assert (int(labels[a]), int(labels[b])) == (0, 1)
    assert followed_pair(labels, (0, 1), seed=0) == (a, b) != followed_pair(labels, (0, 1), 1)
    with pytest.raises(InputError, match="no MNIST"):
        load_digit_images("mnist", "/nonexistent")
    with pytest.raises(InputError, match="needs the folder"):
        load_digit_images("mnist", None)


def _write_idx(path, array, gz=False):
    """An IDX file of unsigned bytes (the MNIST format), written by hand."""
    import gzip

    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape)
    (gzip.open if gz else open)(path, "wb").write(header + array.astype(np.uint8).tobytes())


def test_mnist_is_read_from_its_idx_files_plain_or_under_torchvisions_folder(tmp_path):
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(12, 28, 28))
    labels = np.array([3, 0, 1, 7, 1, 0, 9, 2, 0, 1, 5, 4])
    _write_idx(tmp_path / "train-images-idx3-ubyte", pixels)
    _write_idx(tmp_path / "train-labels-idx1-ubyte", labels)
    images, read = load_digit_images("mnist", str(tmp_path))
    assert images.shape == (12, 784) and images.dtype == torch.float32
    np.testing.assert_allclose(images[4].numpy(), pixels[4].ravel() / 255.0, rtol=1e-6)
    assert read.tolist() == labels.tolist()
    # torchvision's layout, gzipped
    raw = tmp_path / "tv" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    _write_idx(raw / "train-images-idx3-ubyte.gz", pixels, gz=True)
    _write_idx(raw / "train-labels-idx1-ubyte.gz", labels, gz=True)
    again, _ = load_digit_images("mnist", str(tmp_path / "tv"))
    assert torch.equal(images, again)
    # a truncated file and a file that is not IDX are named
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "train-images-idx3-ubyte").write_bytes(
        (tmp_path / "train-images-idx3-ubyte").read_bytes()[:-10])
    with pytest.raises(InputError, match="its header says"):
        read_idx(tmp_path / "bad" / "train-images-idx3-ubyte")
    (tmp_path / "bad" / "train-labels-idx1-ubyte").write_text("hello")
    with pytest.raises(InputError, match="not an IDX file"):
        read_idx(tmp_path / "bad" / "train-labels-idx1-ubyte")


def test_the_digit_pairs_loss_needs_the_data_sets_mean_target():
    """Mini-batch training on the bundled digits: the pair's mean output first relaxes to the
    data set's mean one-hot target and stays there while the classes are not yet told apart.
    The two-target loss fits that; the pair-only formula (two points trained alone, full
    batch), whose mean can only decay to the pair's own target, cannot."""
    spec = {"experiment": "digits", "run": "digits", "seed": 0, "architecture": "mlp",
            "variant": {"depth": 4, "width": 32, "activation": "leaky_relu", "gain": 0.5,
                        "layer": 2}, "fit": True, "epochs": 30, "source": "digits",
            "root": None, "pair": [0, 1], "lr": 0.003, "batch_size": 64, "record_every": 2}
    trajectory = digit_pair_run(spec)
    terms = trajectory.attrs["loss_terms"]
    # ȳ_D ≈ 0.1 everywhere (the classes are balanced), ȳ* = 0.5 at digits 0 and 1:
    # ‖ȳ_D − ȳ*‖² ≈ 2 · 0.16 + 8 · 0.01
    assert terms["target_gap"] == pytest.approx(0.4, abs=2e-3)
    dataset, _ = fit_trajectory(trajectory, trajectory.attrs["dx2"], 2.0)
    pair = trajectory.copy()
    pair.attrs = {k: v for k, v in trajectory.attrs.items() if k != "loss_terms"}
    paper, _ = fit_trajectory(pair, pair.attrs["dx2"], 2.0)
    assert dataset["r2_loss"] >= 0.9 > paper["r2_loss"], (dataset, paper)
    assert dataset["eta_target"] < dataset["eta_ybar"]
    with pytest.raises(InputError, match="loss_target"):
        digit_pair_run({**spec, "loss_target": "class"})


def test_a_depth_run_fits_every_hidden_layer_and_the_controls_build():
    variant = {**VARIANTS["default"], "depth": 4, "width": 16, "layer": 2}
    table, fits = run_one(_spec("default", variant, epochs=200, layers=[1, 2, 3, 4],
                                experiment="depth"))
    assert [f["layer"] for f in fits] == [1, 2, 3, 4]
    assert table.groupby("layer").epoch.count().tolist() == [201] * 4
    # y and w do not depend on the layer; h does
    by_layer = table.pivot(index="epoch", columns="layer", values="y")
    np.testing.assert_allclose(by_layer[1], by_layer[4])
    assert not np.allclose(table[table.layer == 1].h, table[table.layer == 4].h)
    assert all(f["eta_h"] > 0 for f in fits)
    # the final-distance controls: inputs symmetric about 0, and a network without biases
    points = default_points(dx=1.5, placement="symmetric")
    assert float(points.x_a[0]) == -0.75 and float(points.x_b[0]) == 0.75
    model, _ = build_network({**variant, "bias": False}, seed=0)
    assert not [n for n, _ in model.named_parameters() if n.endswith("bias")]
    run = two_point_run(_spec("default", {**variant, "bias": False}, epochs=3,
                              placement="symmetric"))
    assert len(run) == 4
    with pytest.raises(InputError, match="placement"):
        default_points(placement="centred")
    with pytest.raises(InputError, match="layer 9"):
        two_point_run(_spec("default", variant, epochs=3, layers=[9]))


@pytest.fixture(scope="module")
def tiny_theory(tmp_path_factory):
    """Every experiment at a tiny size, run through run_one and collected."""
    theory = theory_config(seeds=[0], epochs=120, record_every=2, max_width=24,
                           architectures=["default", "cnn"],
                           sweep={"gains": [1.0, 2.0]},
                           final_distance={"architectures": ["shallow", "default"],
                                           "trials": 2, "epochs": 120, "dx": [0.5, 1.5],
                                           "dy": [0.25, 1.0]},
                           depth={"architectures": ["shallow"], "seeds": 1},
                           digits={"epochs": 3, "width": 16, "record_every": 1})
    out = tmp_path_factory.mktemp("theory")
    paths = []
    for k, spec in enumerate(theory_runs(theory)):
        table, fits = run_one(spec)
        table.to_parquet(out / f"run{k}.parquet")
        pd.DataFrame(fits).to_csv(out / f"run{k}.csv", index=False)
        paths.append((out / f"run{k}.parquet", out / f"run{k}.csv"))
    tables = collect([p for p, _ in paths], [f for _, f in paths], outputs(out / "tables"))
    return out / "tables", tables, paths


#: Where collect writes each output, by name (the workflow names its own paths).
OUTPUT_FILES = {"trajectories": "trajectories.parquet", "fits": "fits.csv",
                "final_distance": "final_distance.csv", "sweep": "sweep.csv",
                "depth": "depth.csv", "summary": "summary.md"}


def outputs(folder):
    return {name: folder / file for name, file in OUTPUT_FILES.items()}


def table_files(folder):
    return [path for name, path in outputs(folder).items() if name != "summary"]


def test_collect_writes_every_table(tiny_theory):
    folder, tables, _ = tiny_theory
    trajectories = pd.read_parquet(folder / "trajectories.parquet")
    for column in ("architecture", "seed", "gain", "epoch", "h", "y", "w", "loss",
                   "h_theory", "loss_theory"):
        assert column in trajectories
    assert set(trajectories.experiment) == {"architectures", "sweep", "final_distance",
                                            "depth", "digits"}
    fits = pd.read_csv(folder / "fits.csv")
    for column in ("architecture", "gain", "eta_h", "eta_y", "eta_ybar", "r2_h", "r2_y",
                   "r2_w", "r2_loss"):
        assert column in fits
    # grid runs are not fitted; everything else is: architectures 2, sweep 2, 2 base trials of
    # 2 variants, the 2 layers of the shallow depth run, digits 1
    assert len(fits) == 2 + 2 + 2 * 2 + 2 + 1
    assert (fits.eta_h > 0).all() and (fits.eta_y > 0).all()
    distance = pd.read_csv(folder / "final_distance.csv")
    assert list(distance.columns[:5]) == ["architecture", "dx", "dy", "measured", "predicted"]
    assert len(distance) == 2 * 4 and (distance.predicted > 0).all()
    assert sorted(set(distance.architecture)) == ["default", "shallow"]
    assert (distance.trials == 2).all()
    depth = pd.read_csv(folder / "depth.csv")
    assert list(depth.columns[:7]) == ["architecture", "layer", "r2_h", "r2_y", "r2_w", "eta_h",
                                       "eta_y"]
    assert depth.layer.tolist() == [1, 2]
    summary = (folder / "summary.md").read_text()
    assert "final distance, shallow: R²" in summary and "| architectures | cnn |" in summary
    assert "depth, shallow:" in summary and "digit pair: mean R² of the fitted loss" in summary
    # the theory columns are the ODE solved with the fitted rates
    run = trajectories[(trajectories.experiment == "architectures")
                       & (trajectories.run == "default")]
    fit = fits[fits.run == "default"].iloc[0]
    again = solve(run[["h", "y", "w"]].iloc[0], fit.eta_h, fit.eta_y, run.dx2.iloc[0],
                  run.dy2.iloc[0], run.epoch)
    np.testing.assert_allclose(run[["h_theory", "y_theory", "w_theory"]], again, rtol=1e-5,
                               atol=1e-9)


@pytest.mark.parametrize("name,panels", [("theory_trajectories", 6), ("theory_loss", 2),
                                         ("theory_sweep", 5), ("theory_final_distance", 2),
                                         ("theory_depth", 2), ("theory_digits", 4)])
def test_every_theory_figure_is_drawn(tiny_theory, tmp_path, name, panels):
    from convergent.analysis.tables import load_tables
    from convergent.figures.theory import THEORY_FIGURES

    out = [tmp_path / f"{name}.png", tmp_path / f"{name}.svg"]
    axes = THEORY_FIGURES[name](load_tables(table_files(tiny_theory[0])), out)
    assert len(axes) == panels and all(ax.has_data() for ax in axes)
    assert all(p.stat().st_size > 5000 for p in out)


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "convergent", "theory", *args],
                          capture_output=True, text=True)


def test_the_cli_runs_one_spec_and_rejects_a_bad_one(tmp_path):
    spec = _spec("shallow", {**VARIANTS["shallow"], "width": 16}, epochs=30)
    import json

    done = _cli("run", "--spec", json.dumps(spec), "--trajectory", str(tmp_path / "t.parquet"),
                "--fit", str(tmp_path / "f.csv"))
    assert done.returncode == 0, done.stderr
    assert len(pd.read_parquet(tmp_path / "t.parquet")) == 31
    assert set(json.loads(done.stdout)) >= {"eta_h", "eta_y", "r2_h"}
    bad = _cli("run", "--spec", "{}", "--trajectory", str(tmp_path / "x.parquet"),
               "--fit", str(tmp_path / "x.csv"))
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
    assert "missing" in bad.stderr and not (tmp_path / "x.parquet").exists()
    missing = _cli("figure", "theory_sweep", "--tables", str(tmp_path / "none.csv"), "--out",
                   str(tmp_path / "s.png"))
    assert missing.returncode == 2 and "no such table" in missing.stderr


def test_collect_writes_each_output_where_told_and_needs_every_one(tiny_theory, tmp_path):
    folder, _, paths = tiny_theory
    runs = ["--trajectories", *(str(p) for p, _ in paths), "--fits", *(str(f) for _, f in paths)]
    where = outputs(tmp_path / "elsewhere")
    where["fits"] = tmp_path / "fits.parquet"  # the format follows the path
    done = _cli("collect", *runs, *(f"--out={k}={v}" for k, v in where.items()))
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["elsewhere", "fits.parquet"]
    pd.testing.assert_frame_equal(pd.read_parquet(where["fits"]),
                                  pd.read_csv(folder / "fits.csv"), check_dtype=False)
    assert where["summary"].read_text() == (folder / "summary.md").read_text()
    for name in ("final_distance", "sweep", "depth"):
        assert where[name].read_text() == (folder / f"{name}.csv").read_text()
    with pytest.raises(InputError, match="no path for summary"):
        collect([paths[0][0]], [paths[0][1]], {k: v for k, v in where.items()
                                               if k != "summary"})
    with pytest.raises(InputError, match="unknown extra"):
        collect([paths[0][0]], [paths[0][1]], {**where, "extra": tmp_path / "x.csv"})
    twice = _cli("collect", *runs, *(f"--out={k}={v}" for k, v in where.items()),
                 f"--out=sweep={tmp_path / 'x.csv'}")
    assert twice.returncode == 2 and "sweep: given more than once" in twice.stderr
    bad = _cli("collect", *runs, "--out", "sweep")
    assert bad.returncode == 2 and "expected NAME=PATH" in bad.stderr


def test_the_cli_draws_a_theory_figure_from_the_table_files(tiny_theory, tmp_path):
    out = [tmp_path / "sweep.png", tmp_path / "sweep.svg"]
    done = _cli("figure", "theory_sweep", "--tables", *map(str, table_files(tiny_theory[0])),
                "--out", *map(str, out))
    assert done.returncode == 0, done.stderr
    assert all(p.stat().st_size > 5000 for p in out)
    done = _cli("figure", "theory_sweep", "--tables", str(tiny_theory[0] / "sweep.csv"),
                "--out", str(tmp_path / "s.png"))
    assert done.returncode == 2 and "the 'trajectories' table was not given" in done.stderr
