"""The Snakemake workflow end to end on config/test.yaml: dry runs, a full run, reruns."""

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from smk import ROOT, edited_config, job_counts, snakemake, workspace

ALIGNMENT_COLUMNS = ["analysis", "model_x", "seed_x", "model_y", "seed_y", "epoch", "stimset",
                     "layer_x", "layer_y", "depth_x", "depth_y", "metric", "corr", "score",
                     "score_xy", "score_yx", "x_units", "y_units"]


@pytest.mark.parametrize("config", sorted(p.name for p in (ROOT / "config").glob("*.yaml")))
def test_dry_run_of_every_config(tmp_path, config):
    done = snakemake(workspace(tmp_path), "-n", config=config)
    counts = job_counts(done.stdout)
    assert {"align", "aggregate", "all"} <= set(counts)
    per = yaml.safe_load((ROOT / "config" / config).read_text()).get("extract", {}).get("per")
    if per in ("network", "model"):  # one rule per network or model, none per checkpoint
        suffix = r"_seed\d+" if per == "network" else ""
        assert any(re.fullmatch(rf"extract_(?!id|ood|text)[a-z]\w*{suffix}", rule)
                   for rule in counts), counts
        assert "extract_id" not in counts
    else:
        assert {"extract_id", "extract_ood"} <= set(counts)
    assert any(rule.startswith("train_vision_") for rule in counts)  # one rule per model


def test_extraction_is_one_job_per_checkpoint(tmp_path):
    """The checkpoints the OOD analysis reads extract their test images with their OOD sets
    (extract_ood), the others the test images alone (extract_id): one job, and one SLURM task
    and torch start-up, per checkpoint."""
    done = snakemake(workspace(tmp_path), "-n", config="slurm-scale.yaml")
    jobs = []
    for block in re.split(r"\n(?=\[)", done.stdout):
        rule = re.search(r"^\s*rule (extract_\w+):", block, flags=re.M)
        if rule:
            outputs = re.search(r"^\s*output: (.+)$", block, flags=re.M).group(1).split(", ")
            (folder,) = {str(Path(path).parent) for path in outputs}  # one checkpoint
            jobs.append((rule.group(1), folder, {Path(path).name for path in outputs}))
    folders = [folder for _, folder, _ in jobs]
    assert len(folders) == len(set(folders)) == 16  # 4 seeds × epochs 0-3: each once
    with_ood = [names for rule, _, names in jobs if rule == "extract_ood"]
    assert len(with_ood) == 4  # the last epoch of each seed
    assert all({"test.safetensors", "contrast.safetensors", "eidolonI.safetensors"} <= names
               for names in with_ood)


def extract_outputs(dry_run: str) -> dict[str, list[str]]:
    """Each extract job of a dry run: its rule → its outputs (a list per job, in order)."""
    jobs: dict[str, list[str]] = {}
    for block in re.split(r"\n(?=\[)", dry_run):
        if rule := re.search(r"^\s*rule (extract_\w+):", block, flags=re.M):
            outputs = re.search(r"^\s*output: (.+)$", block, flags=re.M).group(1).split(", ")
            jobs.setdefault(rule.group(1), []).append(outputs)
    return jobs


@pytest.mark.parametrize("per", ["network", "model"])
def test_extraction_per_network_or_model_writes_the_same_files_in_fewer_jobs(tmp_path, per):
    """extract.per: network makes one job per network (model and seed), model one job per
    model; their outputs are exactly the files the per-checkpoint jobs write."""
    work = workspace(tmp_path)
    per_checkpoint = extract_outputs(snakemake(work, "-n", config="slurm-scale.yaml").stdout)
    config = yaml.safe_load((ROOT / "config" / "slurm-scale.yaml").read_text())
    config["extract"] = {"per": per}
    path = work / "config" / f"{per}.yaml"
    path.write_text(yaml.safe_dump(config))
    grouped = extract_outputs(snakemake(work, "-n", config=path).stdout)
    seeds = {f"extract_vgg11_seed{s}": [s] for s in range(4)} if per == "network" else {
        "extract_vgg11": list(range(4))}
    assert sorted(grouped) == sorted(seeds)
    assert all(len(jobs) == 1 for jobs in grouped.values())  # one job each
    for rule, [outputs] in grouped.items():
        assert {int(re.search(r"/vgg11/seed(\d+)/", p).group(1)) for p in outputs} == set(
            seeds[rule])
    everything = sorted(p for jobs in per_checkpoint.values() for out in jobs for p in out)
    assert sorted(p for [out] in grouped.values() for p in out) == everything


def align_tasks_of(dry_run: str) -> dict[str, list[dict]]:
    """Each align job of a dry run (``-p``): its output → the points of its command."""
    tasks = {}
    for block in re.split(r"\n(?=\[)", dry_run):
        if re.search(r"^\s*rule align:", block, flags=re.M):
            output = re.search(r"^\s*output: (.+)$", block, flags=re.M).group(1)
            points = re.search(r"--points '(.+?)' --metrics", block).group(1)
            tasks[output] = json.loads(points)
    return tasks


@pytest.mark.parametrize("per_task", [1, 3, 6])
def test_an_align_task_holds_pairs_per_task_model_pairs(tmp_path, per_task):
    """slurm-scale.yaml: 4 seeds, so 6 seed pairs in each of its 4 analyses, cut into tasks of
    align.pairs_per_task pairs; every point of every pair is scored by exactly one task, which
    labels it with its own pair."""
    work = workspace(tmp_path)
    config = yaml.safe_load((ROOT / "config" / "slurm-scale.yaml").read_text())
    config["align"]["pairs_per_task"] = per_task
    path = work / "config" / "grain.yaml"
    path.write_text(yaml.safe_dump(config))
    tasks = align_tasks_of(snakemake(work, "-n", "-p", config=path).stdout)
    assert len(tasks) == 4 * -(-6 // per_task)
    pairs = {}
    for output, points in tasks.items():
        analysis, name = Path(output).parent.name, Path(output).stem
        mine = list(dict.fromkeys((p["labels"]["seed_x"], p["labels"]["seed_y"]) for p in points))
        assert len(mine) == min(per_task, 6) and all(
            f"seed{x}" in p["a"] and f"seed{y}" in p["b"]
            for p in points for x, y in [(p["labels"]["seed_x"], p["labels"]["seed_y"])])
        first = f"vgg11-seed{mine[0][0]}__vgg11-seed{mine[0][1]}"
        assert name == (first if per_task == 1 else f"{first}+{len(mine) - 1}")
        for pair in mine:
            assert (analysis, pair) not in pairs
            pairs[(analysis, pair)] = [p for p in points if (p["labels"]["seed_x"],
                                                             p["labels"]["seed_y"]) == pair]
    assert len(pairs) == 4 * 6  # every pair of every analysis, once
    assert sum(map(len, pairs.values())) == 72  # and every point (bench_slurm.py counts 72)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    work = workspace(tmp_path_factory.mktemp("run"))
    snakemake(work)
    return work


def test_full_run_writes_the_tables_and_figure(finished_run):
    tables = finished_run / "results" / "tables"
    alignment = pd.read_parquet(tables / "alignment.parquet")
    assert list(alignment.columns[:len(ALIGNMENT_COLUMNS)]) == ALIGNMENT_COLUMNS
    assert set(alignment.analysis) == {"seeds", "cross", "training", "ood", "rotation"}
    assert set(alignment[alignment.analysis == "rotation"].metric) == {
        "permutation", "permutation_rotated"}
    assert set(alignment[alignment.analysis == "seeds"].epoch) == {0, 1}
    assert set(alignment[alignment.analysis == "ood"].stimset) == {"contrast", "test@contrast"}
    assert set(alignment[alignment.analysis == "rotation"].epoch) == {0, 1}  # with the control
    seeds = alignment[alignment.analysis == "seeds"]  # test.yaml: 3 shuffles, 3 rotations
    assert set(seeds[seeds.null_draws == 3].metric) == {"procrustes", "permutation", "cka"}
    rotated = alignment[alignment.metric == "permutation_rotated"]
    assert (rotated.null_draws == 3).all() and rotated.p_value.between(0, 1).all()
    assert alignment.depth_x.between(0, 1).all() and alignment.score.notna().mean() > 0.95
    cross = alignment[alignment.analysis == "cross"]
    assert len(cross[cross.metric == "procrustes"]) == 8 * 8  # every layer pair of vgg11
    accuracy = pd.read_parquet(tables / "accuracy.parquet")
    assert list(accuracy.columns[:5]) == ["model", "seed", "epoch", "stimset", "accuracy"]
    assert accuracy.accuracy.between(0, 1).all()
    assert (pd.read_csv(tables / "alignment.csv").shape == alignment.shape)
    training = pd.read_parquet(tables / "training.parquet")
    # test.yaml keeps checkpoints at a quarter and half of epoch 1: evaluated, extracted, aligned
    assert set(training.epoch) == {0, 0.25, 0.5, 1} and set(training.split) == {"train", "test"}
    over_training = alignment[alignment.analysis == "training"]
    assert set(over_training.epoch) == {0, 0.25, 0.5, 1}
    figures = {p.name for p in (finished_run / "results" / "figures").iterdir()}
    drawn = ["depth_profile", "cross_grids", "training", "distribution_shift", "ood_accuracy",
             "rotation", "training_time", "training_change"]  # no Spearman in test.yaml
    assert figures == {f"{f}.{ext}" for f in drawn for ext in ("png", "svg")} | {"rotation.csv"}
    summary = (finished_run / "results" / "summary.md").read_text()
    assert "`depth_profile_spearman`: align.corr does not ask for spearman" in summary
    assert "procrustes gain from training" in summary and "## Config" in summary
    headlines = pd.read_csv(tables / "headlines.csv")
    assert list(headlines.columns) == ["headline", "model", "value", "note"]
    assert set(headlines.model) == {"vgg11", "all"}
    models = pd.read_parquet(tables / "models.parquet")
    assert models.to_dict("records")[0] | {"tokens_per_step": None} == {
        "model": "vgg11", "arch": "vgg11", "family": "cnn", "modality": "vision",
        "objective": "supervised", "source": "train", "untrained": 0, "trained": 1, "seeds": 2,
        "axis": "epoch", "tokens_per_step": None}


def test_the_report_holds_every_figure_and_the_summary(finished_run):
    report = finished_run / "results" / "report.html"
    done = snakemake(finished_run, "--report", str(report))
    # docutils reports caption problems as "(WARNING/2)", "(ERROR/3)", ... in the log
    assert "(WARNING/" not in done.stderr and "(ERROR/" not in done.stderr, done.stderr
    html = report.read_text(errors="replace")
    assert report.stat().st_size > 100_000
    for name in ("depth_profile.png", "cross_grids.png", "rotation.png", "summary.md"):
        assert name in html, name


def test_second_run_has_nothing_to_do(finished_run):
    done = snakemake(finished_run, "-n")
    assert "Nothing to be done" in done.stdout + done.stderr


def test_changing_an_alignment_setting_reruns_only_alignment(finished_run):
    changed = edited_config(finished_run, "folds4.yaml", align={"folds": 4})
    done = snakemake(finished_run, "-n", config=changed)
    counts = job_counts(done.stdout)
    assert counts["align"] == 5 and counts["aggregate"] == 1, counts  # one per analysis
    assert {"train_vision_vgg11", "extract_id", "extract_ood"}.isdisjoint(counts), counts
    assert all(rule.startswith("figure_") for rule in set(counts) - {
        "align", "aggregate", "summary", "all", "total"}), counts


def test_a_model_job_extracts_what_the_checkpoint_jobs_extracted(finished_run, tmp_path):
    """The run's checkpoints extracted again with extract.per: model (one process for every
    checkpoint of every seed; per network is the same job for one seed): the same layers, the
    same values, the same accuracy rows."""
    from safetensors.numpy import load_file

    work = workspace(tmp_path)
    checkpoints = Path("results") / "checkpoints"
    shutil.copytree(finished_run / checkpoints, work / checkpoints)
    config = edited_config(work, "model.yaml", extract={"per": "model"})
    snakemake(work, "extract_vgg11", config=config)  # every seed of the model in one job
    made = sorted(p for p in (work / "results" / "activations").rglob("*") if p.is_file())
    assert len(made) == 2 * (4 * 2 + 2)  # 2 seeds × (4 checkpoints + contrast at the last) × 2
    for path in made:
        before = finished_run / path.relative_to(work)
        if path.suffix == ".csv":
            pd.testing.assert_frame_equal(pd.read_csv(path), pd.read_csv(before))
        else:
            now, then = load_file(path), load_file(before)
            assert list(now) == list(then)
            assert all((now[k] == then[k]).all() for k in now)


def test_two_runs_with_the_same_seeds_give_identical_tables(finished_run, tmp_path):
    again = workspace(tmp_path)
    snakemake(again)
    for name in ("alignment", "accuracy", "training"):
        first = pd.read_parquet(finished_run / "results" / "tables" / f"{name}.parquet")
        second = pd.read_parquet(again / "results" / "tables" / f"{name}.parquet")
        pd.testing.assert_frame_equal(first, second)


@pytest.mark.parametrize("override,key", [
    ({"align": {"foldz": 3}}, "foldz"),
    ({"train": {"epochs": "three"}}, "three"),
    ({"models": {"net": {"arch": "alexnet"}}}, "alexnet"),
])
def test_a_schema_error_names_the_key(tmp_path, override, key):
    work = workspace(tmp_path)
    bad = yaml.safe_load((ROOT / "config" / "test.yaml").read_text())
    bad.update(override)
    (work / "config" / "bad.yaml").write_text(yaml.safe_dump(bad))
    done = snakemake(work, "-n", config=work / "config" / "bad.yaml", check=False)
    assert done.returncode != 0
    assert done.stderr.strip().count("\n") == 0, done.stderr  # one line
    assert "config error at" in done.stderr and key in done.stderr


def test_the_theory_runs_as_its_own_target_and_reruns_only_what_changed(tmp_path):
    """`snakemake theory` on config/test.yaml (theory not in `all` there): one job per run, the
    tables, the checked summary and every theory figure; a theory setting reruns only theory
    runs, and `all` never asks for them."""
    work = workspace(tmp_path)
    plan = job_counts(snakemake(work, "-n", "theory").stdout)
    # architectures 2 + sweep 2 + final-distance 1 base trial and 2 grid points + depth 1
    # + digits 1
    assert plan["theory_run"] == 9 and plan["theory_collect"] == 1, plan
    assert {"train_vision_vgg11", "align", "aggregate"}.isdisjoint(plan), plan
    snakemake(work, "theory")
    out = work / "results" / "theory"
    trajectories = pd.read_parquet(out / "trajectories.parquet")
    assert {"architecture", "seed", "gain", "epoch", "h", "y", "w", "loss"} <= set(
        trajectories.columns)
    assert len(pd.read_csv(out / "final_distance.csv")) == 2
    depth = pd.read_csv(out / "depth.csv")
    assert list(depth.layer) == [1, 2] and set(depth.architecture) == {"shallow"}
    assert "| required result |" in (out / "summary.md").read_text()
    figures = {p.name for p in (out / "figures").iterdir()}
    assert figures == {f"theory_{f}.{ext}" for f in ("trajectories", "loss", "sweep",
                                                      "final_distance", "depth", "digits")
                       for ext in ("png", "svg")}
    again = snakemake(work, "-n", "theory")
    assert "Nothing to be done" in again.stdout + again.stderr
    changed = edited_config(work, "sweep.yaml", theory={"sweep": {"gains": [1.0, 1.5]}})
    counts = job_counts(snakemake(work, "-n", "theory", config=changed).stdout)
    assert counts["theory_run"] == 1 and counts["theory_collect"] == 1, counts  # only gain 1.5
    assert "theory_run" not in job_counts(snakemake(work, "-n", config="test.yaml").stdout)
    default = job_counts(snakemake(work, "-n", config="config.yaml").stdout)
    assert any(rule.startswith("theory_run") for rule in default), default


def test_theory_runs_batched_per_job_write_what_one_job_per_run_writes(tmp_path):
    """theory.runs_per_job: the runs of an experiment in jobs of that many, one process each,
    and the same tables as one job per run."""
    work = workspace(tmp_path)
    snakemake(work, "theory")
    single = {name: pd.read_csv(work / "results" / "theory" / f"{name}.csv")
              for name in ("fits", "final_distance", "depth")}
    trajectories = pd.read_parquet(work / "results" / "theory" / "trajectories.parquet")
    batched = edited_config(work, "batched.yaml", theory={"runs_per_job": 2})
    counts = job_counts(snakemake(work, "-n", "theory", config=batched).stdout)
    runs = {rule: n for rule, n in counts.items() if rule.startswith("theory_run")}
    # architectures 2, sweep 2, final distance 3 (two jobs), depth 1, digits 1
    assert runs == {f"theory_run_{batch}": 1 for batch in (
        "architectures0", "sweep0", "final_distance0", "final_distance1", "depth0",
        "digits0")}, counts
    snakemake(work, "theory", config=batched)
    out = work / "results" / "theory"
    for name, table in single.items():
        pd.testing.assert_frame_equal(pd.read_csv(out / f"{name}.csv"), table)
    pd.testing.assert_frame_equal(pd.read_parquet(out / "trajectories.parquet"), trajectories)
    assert (work / "logs" / "theory" / "architectures0.log").read_text().count('"run"') == 2
