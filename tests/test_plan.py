"""The plan (convergent.plan) without Snakemake: the job tables per analysis, each model's family,
the models table, wildcard alternatives, and that the plan stays free of torch and matplotlib."""

import copy
import re
import subprocess
import sys

import pandas as pd
import pytest
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from convergent.plan import IMAGES, SENTENCES, alternatives, family, make_plan
from convergent.plan.jobs import (
    ALIGN_COLUMNS,
    PAIR_COLUMNS,
    TASK_COLUMNS,
    alignment_jobs,
    extraction_jobs,
    network_checkpoints,
    pair_name,
    task_points,
)
from convergent.plan.models import (
    ARCH_FAMILY,
    groups,
    matched_ood,
    matched_stimset,
    model_rows,
    read_stimset,
    resolve_models,
)

from smk import ROOT

SCHEMA_PATH = ROOT / "workflow" / "schemas" / "config.schema.yaml"
SCHEMA = yaml.safe_load(SCHEMA_PATH.read_text())
MODEL_DEFAULTS = {k: v["default"] for k, v in
                  SCHEMA["properties"]["models"]["additionalProperties"]["properties"].items()
                  if "default" in v}


def validated(**given) -> dict:
    """A config as the workflow sees it: the schema's defaults filled in."""
    config = copy.deepcopy(given)
    validate(config, str(SCHEMA_PATH), set_default=True)
    return config


def plan_of(**given):
    return make_plan(validated(**given), MODEL_DEFAULTS)


def rows(jobs, **equal):
    for column, value in equal.items():
        jobs = jobs[jobs[column] == value]
    return jobs


MIXED = dict(
    models={"cnn": {"arch": "resnet18"}, "vit": {"arch": "vit_small"},
            "lm": {"arch": "gptneox_tiny"},
            "pythia": {"arch": "gptneox", "source": "hub", "hub_id": "org/p-seed{seed}",
                       "epochs": [0, 1000, 143000], "seeds": [1, 2, 3]}},
    seeds=[0, 1, 2], train={"epochs": 2}, language={"train": {"epochs": 1}},
    stimuli={"ood": ["contrast", "edge"]}, theory={"enabled": False})


def test_every_schema_architecture_has_a_family():
    archs = SCHEMA["properties"]["models"]["additionalProperties"]["properties"]["arch"]["enum"]
    assert sorted(archs) == sorted(ARCH_FAMILY)
    assert {family({"arch": a}) for a in archs} == {"cnn", "vit", "language"}


def test_seeds_analysis_pairs_every_seed_pair_at_the_two_ends_of_each_axis():
    jobs = plan_of(**MIXED).align_jobs
    seeds = rows(jobs, analysis="seeds")
    cnn = rows(seeds, model_x="cnn")
    assert sorted(set(zip(cnn.seed_x, cnn.seed_y, strict=True))) == [(0, 1), (0, 2), (1, 2)]
    assert sorted(cnn.epoch.unique()) == [0, 2] and set(cnn.stimset) == {IMAGES}
    pythia = rows(seeds, model_x="pythia")
    assert sorted(pythia.epoch.unique()) == [0, 143000] and set(pythia.stimset) == {SENTENCES}
    assert len(pythia) == 3 * 2
    assert (seeds.model_x == seeds.model_y).all()


def test_training_analysis_covers_every_checkpoint_of_each_models_own_axis():
    jobs = rows(plan_of(**MIXED).align_jobs, analysis="training")
    assert sorted(rows(jobs, model_x="cnn").epoch.unique()) == [0, 1, 2]
    assert sorted(rows(jobs, model_x="lm").epoch.unique()) == [0, 1]
    assert sorted(rows(jobs, model_x="pythia").epoch.unique()) == [0, 1000, 143000]


def test_ood_analysis_is_vision_only_at_the_final_checkpoint_on_each_set_and_its_match():
    jobs = rows(plan_of(**MIXED).align_jobs, analysis="ood")
    assert set(jobs.model_x) == {"cnn", "vit"}
    assert set(jobs.epoch) == {2}
    assert set(jobs.stimset) == {"contrast", "edge", "test@contrast", "test@edge"}
    assert len(jobs) == 2 * 3 * 2 * 2  # models × seed pairs × sets × (set, matched baseline)


def test_an_align_task_is_one_analysis_and_pair_with_all_its_points():
    plan = plan_of(**MIXED)
    points = task_points(plan.align_jobs, plan.align_tasks)
    assert list(plan.align_tasks.columns) == [*TASK_COLUMNS, *PAIR_COLUMNS]
    pairs = plan.align_jobs.drop_duplicates(["analysis", *PAIR_COLUMNS])
    assert len(plan.align_tasks) == len(points) == len(pairs)  # one pair a task by default
    assert sum(map(len, points.values())) == len(plan.align_jobs)  # every point, once
    # a task of one pair is named by the pair; points in the table's order, JSON-ready
    pair = ("cnn", 0, "cnn", 1)
    assert points[("ood", "cnn-seed0__cnn-seed1")] == [
        (pair, 2, "contrast"), (pair, 2, "edge"), (pair, 2, "test@contrast"),
        (pair, 2, "test@edge")]
    assert [p[1:] for p in points[("training", "cnn-seed0__cnn-seed2")]] == [
        (0, IMAGES), (1, IMAGES), (2, IMAGES)]
    assert [p[1:] for p in points[("seeds", "pythia-seed1__pythia-seed3")]] == [
        (0, SENTENCES), (143000, SENTENCES)]
    assert all(isinstance(e, int) and isinstance(p[1], int) and isinstance(p[3], int)
               for pts in points.values() for p, e, _ in pts)


@pytest.mark.parametrize("per_task", [2, 3, 100])
def test_pairs_per_task_cuts_each_analysis_into_tasks_of_that_many_pairs(per_task):
    one = plan_of(**MIXED)
    config = copy.deepcopy(MIXED)
    config["align"] = {"pairs_per_task": per_task}
    plan = plan_of(**config)
    tasks, points = plan.align_tasks, task_points(plan.align_jobs, plan.align_tasks)
    # the same pairs, in the same order, each in exactly one task of its own analysis
    pd.testing.assert_frame_equal(tasks[["analysis", *PAIR_COLUMNS]],
                                  one.align_tasks[["analysis", *PAIR_COLUMNS]])
    sizes = tasks.groupby(["analysis", "task"], sort=False).size()
    for analysis, of_analysis in sizes.groupby(level=0, sort=False):
        pairs = len(one.align_tasks[one.align_tasks.analysis == analysis])
        assert of_analysis.tolist() == [per_task] * (pairs // per_task) + (
            [pairs % per_task] if pairs % per_task else [])
    # every point once, pair by pair
    flat = [(a, *pair, e, s) for (a, _), pts in points.items() for pair, e, s in pts]
    assert sorted(flat) == sorted(plan.align_jobs.itertuples(index=False, name=None))
    first = tasks.iloc[0]
    expected = pair_name(*first[PAIR_COLUMNS]) + (
        f"+{sizes.iloc[0] - 1}" if sizes.iloc[0] > 1 else "")
    assert first.task == expected


def test_pairs_per_task_must_be_a_positive_integer():
    with pytest.raises(WorkflowError, match="pairs_per_task"):
        validated(**{**MIXED, "align": {"pairs_per_task": 0}})


def test_a_matched_baseline_reads_the_in_distribution_activations():
    assert matched_stimset("high-pass") == "test@high-pass"
    assert matched_ood("test@high-pass") == "high-pass" and matched_ood("high-pass") is None
    assert read_stimset("test@high-pass") == IMAGES and read_stimset("edge") == "edge"
    extract = plan_of(**MIXED).extract_jobs
    assert not extract.stimset.str.contains("@").any()
    assert set(extract.stimset) == {IMAGES, SENTENCES, "contrast", "edge"}


def test_cross_analysis_pairs_models_within_groups_and_each_model_across_seeds():
    plan = plan_of(**MIXED)
    assert plan.groups == [["cnn", "vit"], ["lm"], ["pythia"]]
    jobs = rows(plan.align_jobs, analysis="cross")
    pairs = set(zip(jobs.model_x, jobs.seed_x, jobs.model_y, jobs.seed_y, strict=True))
    assert pairs == {("cnn", 0, "cnn", 1), ("cnn", 0, "vit", 0), ("vit", 0, "vit", 1),
                     ("lm", 0, "lm", 1), ("pythia", 1, "pythia", 2)}
    final = {"cnn": 2, "vit": 2, "lm": 1, "pythia": 143000}
    assert all(final[m] == e for m, e in zip(jobs.model_x, jobs.epoch, strict=True))


def test_rotation_doubles_jobs_corr_does_not_and_a_subset_of_analyses_is_honoured():
    plan = plan_of(**{**MIXED, "align": {"analyses": ["rotation"],
                                         "corr": ["pearson", "spearman"]}})
    jobs = plan.align_jobs
    assert set(jobs.analysis) == {"rotation"}  # both correlations in each job
    assert len(jobs) == 4 * 3 * 2  # models × seed pairs × (untrained, trained)
    cnn = rows(jobs, model_x="cnn")
    assert sorted(cnn.epoch.unique()) == [0, 2]  # the untrained control beside the trained
    assert list(jobs.columns) == ALIGN_COLUMNS
    assert "training" in plan.left_out and "rotation" in plan.figures


def test_extraction_jobs_are_exactly_the_activations_the_align_jobs_read():
    plan = plan_of(**MIXED)
    read = set()
    for job in plan.align_jobs.itertuples():
        stimset = read_stimset(job.stimset)
        read |= {(job.model_x, job.seed_x, job.epoch, stimset),
                 (job.model_y, job.seed_y, job.epoch, stimset)}
    table = plan.extract_jobs
    assert set(map(tuple, table.to_numpy().tolist())) == read and len(table) == len(read)
    assert table.equals(extraction_jobs(plan.align_jobs, plan.models))


def test_a_network_extract_job_covers_exactly_its_networks_extraction_jobs():
    """extract.per: network: every (model, seed) read is one network; its checkpoints in
    training order, each with its stimulus sets in the given order, are its rows of the
    extraction table, each once."""
    plan = plan_of(**MIXED)
    order = [IMAGES, SENTENCES, "contrast", "edge"]
    networks = plan.networks("vision") + plan.networks("language")
    assert sorted(networks) == sorted(set(map(tuple, plan.extract_jobs[["model", "seed"]]
                                              .to_numpy().tolist())))
    assert {m for m, _ in plan.networks("language")} == {"lm", "pythia"}
    covered = []
    for model, seed in networks:
        checkpoints = network_checkpoints(plan.extract_jobs, model, seed, order)
        epochs = [epoch for epoch, _ in checkpoints]
        assert epochs == sorted(epochs)
        for epoch, stimsets in checkpoints:
            assert stimsets == sorted(stimsets, key=order.index)
            covered += [(model, seed, epoch, s) for s in stimsets]
    assert sorted(covered) == sorted(map(tuple, plan.extract_jobs.to_numpy().tolist()))
    last = network_checkpoints(plan.extract_jobs, "cnn", 1, order)[-1]
    assert last == (2, [IMAGES, "contrast", "edge"])  # the OOD analysis reads the last epoch


def test_torchvision_model_has_one_network_and_only_cross_and_ood_jobs_need_two():
    plan = plan_of(models={"net": {"arch": "resnet50", "source": "torchvision",
                                   "weights": "torchvision:IMAGENET1K_V1", "epochs": [90]}},
                   theory={"enabled": False})
    assert plan.models["net"]["seeds"] == [0]
    assert plan.align_jobs.empty and plan.extract_jobs.empty


def test_models_table_says_family_objective_and_the_ends_of_each_axis():
    models = resolve_models(validated(**{**MIXED, "models": {
        **MIXED["models"], "moco": {"arch": "resnet18", "objective": "moco"}}}), MODEL_DEFAULTS)
    table = {row["model"]: row for row in model_rows(models)}
    assert table["vit"]["family"] == "vit" and table["lm"]["family"] == "language"
    assert table["moco"]["objective"] == "moco" and table["moco"]["family"] == "cnn"
    assert (table["pythia"]["untrained"], table["pythia"]["trained"]) == (0, 143000)
    assert (table["cnn"]["untrained"], table["cnn"]["trained"]) == (0, 2)
    assert table["pythia"]["seeds"] == 3


def test_groups_never_mix_modalities_or_axes():
    models = resolve_models(validated(**MIXED), MODEL_DEFAULTS)
    for group in groups(models):
        assert len({(models[m]["modality"], tuple(models[m]["epochs"])) for m in group}) == 1


def test_a_bad_combination_names_the_config_key():
    with pytest.raises(ValueError, match=r"models\.bad\.objective"):
        plan_of(models={"bad": {"arch": "vit_small", "objective": "moco", "source": "checkpoint",
                                "path": "x{seed}{epoch}.pt", "epochs": [0]}})
    with pytest.raises(ValueError, match="theory.architectures: no variant named nope"):
        plan_of(theory={"architectures": ["nope"]})


def test_alternatives_match_whole_names_only_longest_first():
    pattern = re.compile(f"^(?:{alternatives(['vgg1', 'vgg16', 'a.b'])})$")
    assert pattern.match("vgg16") and pattern.match("vgg1") and pattern.match("a.b")
    assert not pattern.match("axb") and not pattern.match("vgg161")
    assert not re.match(f"^(?:{alternatives([])})$", "")


def test_job_tables_come_from_the_plan_alone():
    models = resolve_models(validated(**MIXED), MODEL_DEFAULTS)
    jobs = alignment_jobs(models, groups(models), ["seeds"], [])
    assert len(jobs) == 2 * (3 + 3 + 3 + 3)  # 2 epochs × seed pairs of 4 models


@pytest.mark.parametrize("module", ["convergent.plan", "convergent.cli"])
def test_the_plan_and_the_cli_import_neither_torch_nor_matplotlib(module):
    code = (f"import sys, {module}; heavy = [m for m in ('torch', 'matplotlib', 'pandas') "
            "if m in sys.modules]; assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_every_job_parses_its_command_line_without_pandas_or_scipy():
    """Every job starts by building the CLI's parser (which reads the schema): neither the
    job tables' pandas nor scipy belongs in that second."""
    code = ("import sys, convergent.cli; convergent.cli.build_parser(); heavy = [m for m in "
            "('pandas', 'scipy', 'torch') if m in sys.modules]; assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True)


# What each job's verb imports (issue 19: a job imports only what it uses): the text
# extraction no torchvision, the theory's tables and figures and the result tables no torch.
JOB_IMPORTS = [
    ("from convergent.extract import extract_text", ["torchvision"]),
    ("from convergent.theory.results import collect", ["torch"]),
    ("from convergent.figures.theory import draw_theory", ["torch"]),
    ("from convergent.aggregate import aggregate", ["torch"]),
    ("from convergent.figures import draw", ["torch"]),
    ("from convergent.analysis.summary import write_summary", ["torch", "matplotlib"]),
    # scipy.stats costs a figure or summary job a second; the t tail comes from scipy.special
    ("from convergent.figures import draw", ["scipy.stats"]),
    ("from convergent.analysis.summary import write_summary", ["scipy.stats"]),
    # a training job reaches pandas only to write its log, at the end
    ("from convergent.training.vision import train", ["pandas"]),
    # the theory's SGD is its own: torch.optim's first step imports torch._dynamo (a second)
    ("from convergent.theory.experiment import two_point_run; "
     "two_point_run({'variant': {'kind': 'mlp', 'depth': 2, 'width': 8, 'layer': 1, "
     "'activation': 'tanh', 'bias': True, 'gain': 1.0}, 'seed': 0, 'dx': 1.0, 'dy': 0.5, "
     "'lr': 0.1, 'epochs': 3, 'record_every': 1})", ["torch._dynamo"]),
]


@pytest.mark.parametrize("statement, absent", JOB_IMPORTS)
def test_a_job_imports_only_what_it_uses(statement, absent):
    code = (f"import sys; {statement}; heavy = [m for m in {absent!r} if m in sys.modules]; "
            "assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True)


BRAIN = dict(
    models={"net": {"arch": "resnet18", "source": "checkpoint", "path": "n{seed}_{epoch}.pt",
                    "epochs": [0, 10]},
            "imagenet": {"arch": "resnet50", "source": "torchvision",
                         "weights": "torchvision:IMAGENET1K_V1", "epochs": [90]},
            "brain": {"source": "responses", "path": "s{seed}.safetensors", "seeds": [1, 2, 5]}},
    stimuli={"ood": ["contrast"]}, theory={"enabled": False})


def test_recorded_responses_are_compared_across_subjects_and_with_every_network():
    plan = plan_of(**BRAIN)
    assert plan.models["brain"]["family"] == "responses" and plan.models["brain"]["epochs"] == [0]
    jobs = rows(plan.align_jobs, model_x="brain")
    assert set(jobs.analysis) == {"seeds"} and set(jobs.epoch) == {0}
    assert sorted(zip(jobs.seed_x, jobs.seed_y, strict=True)) == [(1, 2), (1, 5), (2, 5)]
    brain = rows(plan.align_jobs, analysis="cross", model_y="brain")
    assert sorted(zip(brain.model_x, brain.epoch, strict=True)) == [("imagenet", 90),
                                                                    ("net", 10)]
    assert set(rows(plan.extract_jobs, model="brain").epoch) == {0}  # its only recording
    assert "brain" in plan.figures
    assert "brain" in plan_of(models={"net": BRAIN["models"]["net"]}).left_out


def test_recorded_responses_have_no_architecture():
    with pytest.raises(ValueError, match="models.b.arch: recorded responses have no arch"):
        plan_of(models={"b": {"source": "responses", "path": "x{seed}", "arch": "resnet18"}})


def test_a_models_measuring_point_overrides_the_extract_default():
    models = resolve_models(validated(**{**MIXED, "extract": {"point": "conv"}, "models": {
        "cnn": {"arch": "resnet18"}, "raw": {"arch": "vgg16", "point": "activation"}}}),
        MODEL_DEFAULTS)
    assert models["cnn"]["point"] == "conv" and models["raw"]["point"] == "activation"
    unvalidated = resolve_models({**MIXED, "models": {"cnn": {"arch": "resnet18"}}},
                                 MODEL_DEFAULTS)
    assert unvalidated["cnn"]["point"] == "activation"  # the schema's default


def paper_plan():
    config = yaml.safe_load((ROOT / "config" / "paper.yaml").read_text())
    return make_plan(validated(**config), MODEL_DEFAULTS)


def test_the_paper_plans_each_recipe_to_its_end_with_its_early_epochs_kept():
    models = paper_plan().models
    early = list(range(11))
    for cnn in ("resnet18", "resnet50", "vgg16", "vgg19"):
        assert models[cnn]["epochs"] == [0, 0.01, 0.03, 0.1, 0.3, *early[1:], 90]
        assert models[cnn]["train"]["schedule"] == "step"
        assert models[cnn]["train"]["milestones"] == [30, 60]
    assert models["vit_b16"]["epochs"] == [*range(26), 300]
    assert models["vit_b16"]["train"]["optimizer"] == "adamw"
    assert models["vit_b16"]["train"]["label_smoothing"] == 0.11
    assert models["vit_b16"]["train"]["batch_size"] == 512  # the top level says 256
    assert models["moco_resnet50"]["epochs"] == [*early, 200]


def test_the_paper_compares_every_network_trained_here_at_its_own_end():
    plan = paper_plan()
    cross = rows(plan.align_jobs, analysis="cross")
    assert ("resnet18", "vit_b16") in set(zip(cross.model_x, cross.model_y, strict=True))
    read = rows(plan.extract_jobs, stimset=IMAGES)
    for model, final in (("resnet18", 90), ("vit_b16", 300), ("moco_resnet50", 200)):
        assert final in set(rows(read, model=model).epoch)
    assert 90 not in set(rows(read, model="vit_b16").epoch)  # never at another's final


def test_checkpoints_inside_epoch_1_join_the_training_analysis():
    config = yaml.safe_load((ROOT / "config" / "test.yaml").read_text())
    config["train"]["sub_epochs"] = [0.25, 0.5]
    config["models"]["tinylm"] = {"arch": "gptneox_tiny"}
    config["language"] = {"train": {"epochs": 1, "sub_epochs": [0.5]}}
    plan = make_plan(validated(**config), MODEL_DEFAULTS)
    training = rows(plan.align_jobs, analysis="training")
    assert sorted(rows(training, model_x="vgg11").epoch.unique()) == [0, 0.25, 0.5, 1]
    assert sorted(rows(training, model_x="tinylm").epoch.unique()) == [0, 0.5, 1]
    seeds = rows(plan.align_jobs, analysis="seeds", model_x="vgg11")
    assert sorted(seeds.epoch.unique()) == [0, 1]  # the two ends of the axis only


def test_a_models_own_training_settings_are_merged_over_the_top_level():
    plan = plan_of(models={"cnn": {"arch": "resnet18"},
                           "vit": {"arch": "vit_small",
                                   "train": {"epochs": 5, "optimizer": "adamw",
                                             "keep": [2], "moco": {"lr": 0.5}}}},
                   train={"epochs": 2, "lr": 0.2, "sub_epochs": [0.5]},
                   theory={"enabled": False})
    cnn, vit = plan.models["cnn"], plan.models["vit"]
    assert cnn["epochs"] == [0, 0.5, 1, 2] and vit["epochs"] == [0, 0.5, 2, 5]
    assert (vit["train"]["lr"], vit["train"]["optimizer"], cnn["train"]["optimizer"]) == (
        0.2, "adamw", "sgd")
    assert vit["train"]["moco"]["lr"] == 0.5 and vit["train"]["moco"]["queue"] == 65536
    assert plan.groups == [["cnn", "vit"]]  # both trained here: compared at their own ends


@pytest.mark.parametrize("model,message", [
    ({"arch": "vit_small", "train": {"lr": -1}}, r"models\.m\.train\.lr: -1 is less"),
    ({"arch": "vit_small", "train": {"lrr": 1}}, r"models\.m\.train: unknown setting 'lrr'"),
    ({"arch": "vit_small", "train": {"keep": [9]}}, r"models\.m\.train\.keep: epoch 9"),
    ({"arch": "gptneox_tiny", "train": {"epochs": 2}}, r"models\.m\.train: only vision"),
    ({"arch": "resnet18", "width": 0.25}, r"models\.m\.width: only VGG is narrowed; resnet18"),
    ({"arch": "vit_small", "width": 2.0}, r"models\.m\.width: only VGG is narrowed; vit_small"),
])
def test_a_bad_model_setting_names_its_key(model, message):
    with pytest.raises(ValueError, match=message):
        plan_of(models={"m": model}, theory={"enabled": False})


@pytest.mark.parametrize("per_job", [1, 2, 5])
def test_theory_batches_cover_every_run_once_inside_its_experiment(per_job):
    """theory.runs_per_job: jobs of at most that many runs, each of one experiment, together
    every run once and in the plan's order."""
    given = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    plan = plan_of(**{**given, "theory": {**given["theory"], "runs_per_job": per_job}})
    batches = plan.theory_batches
    runs = [run for batch in batches.values() for run in batch]
    assert runs == list(plan.theory_runs.values())
    for name, batch in batches.items():
        assert 1 <= len(batch) <= per_job
        assert {run["experiment"] for run in batch} == {name.rstrip("0123456789")}
    if per_job == 1:
        assert len(batches) == len(plan.theory_runs)
