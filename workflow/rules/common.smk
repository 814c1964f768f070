# The validated config, every path of the workflow (here and nowhere else), wildcard constraints,
# and input functions over the job tables that convergent.plan builds from the config.
import json
import re
import shlex
from collections import namedtuple
from types import SimpleNamespace
import sys

from snakemake.utils import validate

from convergent.config import config_error, section_schema
from convergent.plan import IMAGES, SENTENCES, alternatives, make_plan
from convergent.plan.jobs import TASK_COLUMNS, network_checkpoints, side_epoch, task_points
from convergent.plan.models import matched_ood, matched_stimset, model_rows, read_stimset
from convergent.training.axis import checkpoint_axis, epoch_label

if (_problem := config_error(config)) is not None:
    sys.exit(_problem)
validate(config, schema="../schemas/config.schema.yaml", set_default=True)

_MODEL_SCHEMA = section_schema("models.*")["properties"]
try:
    PLAN = make_plan(config, {k: v["default"] for k, v in _MODEL_SCHEMA.items() if "default" in v})
except ValueError as err:
    sys.exit(f"config error at {err}")
MODELS = PLAN.models
OOD = config["stimuli"]["ood"]
# the language models trained here share one axis (the `language` section), so one rule declares
# every checkpoint; a vision model's axis is its own (models.<name>.train): one rule per model
LANGUAGE_EPOCHS = checkpoint_axis(config["language"]["train"]["epochs"],
                                  sub_epochs=config["language"]["train"]["sub_epochs"])


# ---- every path of the workflow ----------------------------------------------------------
RESULTS, LOGS = config["results"], config["logs"]
NET = "{model}/seed{seed}"
PATHS = {
    "state": f"{RESULTS}/train_state/{NET}",
    "checkpoint": f"{RESULTS}/checkpoints/{NET}/epoch{{epoch}}.pt",
    "lm_checkpoint": f"{RESULTS}/checkpoints/{NET}/epoch{{epoch}}",
    "train_log": f"{RESULTS}/checkpoints/{NET}/accuracy.csv",
    "activations": f"{RESULTS}/activations/{NET}/epoch{{epoch}}/{{stimset}}.safetensors",
    "accuracy": f"{RESULTS}/activations/{NET}/epoch{{epoch}}/{{stimset}}.accuracy.csv",
    "alignment": f"{RESULTS}/alignment/{{analysis}}/{{task}}.parquet",
    "table": f"{RESULTS}/tables/{{table}}.{{ext}}",
    "figure": f"{RESULTS}/figures/{{figure}}.{{ext}}",
    "summary": f"{RESULTS}/summary.md",
    "headlines": f"{RESULTS}/tables/headlines.csv",
    "theory_run": f"{RESULTS}/theory/runs/{{experiment}}/{{run}}/seed{{seed}}.parquet",
    "theory_fit": f"{RESULTS}/theory/runs/{{experiment}}/{{run}}/seed{{seed}}.fit.csv",
    "theory_table": f"{RESULTS}/theory/{{table}}.{{ext}}",
    "theory_summary": f"{RESULTS}/theory/summary.md",
    "theory_figure": f"{RESULTS}/theory/figures/{{figure}}.{{ext}}",
}
LOG = {
    "train": f"{LOGS}/train/{NET}.log",
    "extract": f"{LOGS}/extract/{NET}/epoch{{epoch}}/{{stimset}}.log",
    "extract_network": f"{LOGS}/extract/{NET}.log",
    "extract_model": f"{LOGS}/extract/{{model}}.log",
    "align": f"{LOGS}/align/{{analysis}}/{{task}}.log",
    "aggregate": f"{LOGS}/aggregate.log",
    "figure": f"{LOGS}/figures/{{figure}}.log",
    "summary": f"{LOGS}/summary.log",
    "theory_run": f"{LOGS}/theory/{{experiment}}/{{run}}/seed{{seed}}.log",
    "theory_batch": f"{LOGS}/theory/{{batch}}.log",
    "theory_collect": f"{LOGS}/theory/collect.log",
    "theory_figure": f"{LOGS}/theory/{{figure}}.log",
}
#: What a training job asks a cluster for (local runs ignore it): one GPU and a whole partition
#: slot; a run longer than the slot finishes over retries, each resuming from its last epoch
#: (profiles/slurm: retries). A cluster profile's set-resources overrides it per rule, by the
#: rule's name (train_rule).
TRAIN_RESOURCES = {"gpu": 1, "mem_mb": 16000, "runtime": 1440}
#: What a network's extract job asks for (extract.per: network): one GPU, memory for one
#: checkpoint at a time, and run time for all of them; a retry asks for more.
EXTRACT_NETWORK_RESOURCES = {
    "gpu": 1,
    "mem_mb": lambda wildcards, input, attempt: max(8000, 16 * input.size_mb) * attempt,
    "runtime": lambda wildcards, input, attempt: max(60, input.size_mb // 2) * attempt,
}
#: Which ready jobs go first when cores are scarce (a local run; a cluster takes them all): the
#: study's chain of training, extraction and alignment first, so the longest path starts as
#: early as it can; the theory's runs beside alignment, so that the theory's own chain (its
#: runs, their collection, its figures) is not left to the end; the tables and figures last.
PRIORITY = {"train": 3, "extract": 2, "align": 1, "theory": 1}
#: The result tables (name → formats) and the theory's tables (name → format).
TABLES = {name: ("parquet", "csv") for name in ("alignment", "accuracy", "training", "models")}
THEORY_TABLES = {"trajectories": "parquet", "fits": "csv", "final_distance": "csv",
                 "sweep": "csv", "depth": "csv"}
#: Figures that also write a table of what they show.
FIGURE_TABLES = {"rotation"}


wildcard_constraints:
    model=alternatives(MODELS),
    seed=r"\d+",
    epoch=r"\d+(\.\d+)?",  # whole epochs, and fractions of epoch 1 (epoch_label)
    stimset=alternatives([IMAGES, SENTENCES, *OOD, *map(matched_stimset, OOD)]),
    analysis="seeds|cross|training|ood|rotation",
    task=alternatives(PLAN.align_tasks.task.unique()),
    experiment="architectures|sweep|final_distance|depth|digits",
    run=r"[A-Za-z0-9_.\-]+",


# ---- paths of a set of jobs ----------------------------------------------------------------
def jobs_paths(key, jobs):
    """PATHS[key] filled from every row of a job table (epochs as their labels)."""
    named = jobs.astype(str)
    if "epoch" in jobs:
        named["epoch"] = jobs.epoch.map(epoch_label)
    return expand(PATHS[key], zip, **named.to_dict("list"))


def checkpoint_paths(model):
    """The checkpoints a vision model's train job publishes, along its own axis ({seed} left)."""
    return [PATHS["checkpoint"].replace("{model}", model).replace("{epoch}", epoch_label(e))
            for e in MODELS[model]["epochs"]]


def train_rule(model):
    """The name of the rule that trains vision model ``model``."""
    return "train_vision_" + re.sub(r"\W", "_", model)


def training_logs():
    return [PATHS["train_log"].format(model=m, seed=s)
            for m in PLAN.trained("vision") + PLAN.trained("language") for s in MODELS[m]["seeds"]]


def table_paths(ext=None):
    return [PATHS["table"].format(table=t, ext=e) for t, formats in TABLES.items()
            for e in formats if ext in (None, e)]


def figure_paths(name):
    extra = ["csv"] if name in FIGURE_TABLES else []
    return [PATHS["figure"].format(figure=name, ext=e) for e in ("png", "svg", *extra)]


def theory_table_paths():
    return [PATHS["theory_table"].format(table=t, ext=e) for t, e in THEORY_TABLES.items()]


def theory_run_paths(kind):
    return [PATHS[f"theory_{kind}"].format(experiment=e, run=r, seed=s)
            for e, r, s in PLAN.theory_runs]


def theory_figure_paths(name):
    return [PATHS["theory_figure"].format(figure=name, ext=e) for e in ("png", "svg")]


def theory_targets():
    if not PLAN.theory_runs:
        return []
    return (theory_table_paths() + [PATHS["theory_summary"]]
            + [path for name in PLAN.theory_figures for path in theory_figure_paths(name)])


def all_targets():
    theory = theory_targets() if config["theory"]["enabled"] else []
    return (table_paths() + [PATHS["summary"], PATHS["headlines"]]
            + [path for name in PLAN.figures for path in figure_paths(name)] + theory)


# ---- input functions and params -------------------------------------------------------------
def as_json(section):
    return json.dumps(section, sort_keys=True)


def labels(**values):
    """--label KEY=VALUE arguments, quoted for the shell."""
    return " ".join(f"--label {shlex.quote(f'{k}={v}')}" for k, v in values.items())


def named_outputs(paths):
    """--out NAME=PATH arguments, quoted for the shell."""
    return " ".join(f"--out {shlex.quote(f'{k}={v}')}" for k, v in paths.items())


def model_input(wildcards):
    """The checkpoint file (or model folder) an extract job reads, when it is one of this
    workflow's or the user's; hub models and torchvision weights have none."""
    spec = MODELS[wildcards.model]
    at = dict(seed=wildcards.seed, epoch=wildcards.epoch)
    if spec["source"] == "train":
        key = "lm_checkpoint" if spec["modality"] == "language" else "checkpoint"
        return [PATHS[key].format(model=wildcards.model, **at)]
    if spec["source"] in ("checkpoint", "responses"):
        return [spec["path"].format(**at)]
    return []


#: the vision checkpoints the OOD analysis reads: there one extract job covers the test images and
#: every OOD set (extract_ood), elsewhere the test images alone (extract_id)
OOD_CHECKPOINTS = {(m, str(s), epoch_label(e)) for m, s, e, stimset in PLAN.extract_jobs[
    ["model", "seed", "epoch", "stimset"]].itertuples(index=False) if stimset in OOD}


def checkpoint_input(with_ood):
    """The input function of extract_id (``with_ood`` False) or extract_ood (True): the model's
    input at the checkpoints that rule extracts, elsewhere a path no rule makes, so Snakemake
    takes the other rule for that checkpoint's test images."""

    def input_of(wildcards):
        at = (wildcards.model, wildcards.seed, wildcards.epoch)
        if (at in OOD_CHECKPOINTS) == with_ood:
            return model_input(wildcards)
        return [f"<{'/'.join(at)}: extracted by extract_{'id' if with_ood else 'ood'}>"]

    return input_of


def model_source(wildcards):
    """What `convergent extract` loads for (model, seed, epoch): a JSON source."""
    spec = MODELS[wildcards.model]
    if spec["source"] == "responses":
        return as_json({"responses": model_input(wildcards)[0]})
    if checkpoint := model_input(wildcards):
        return as_json({"checkpoint": checkpoint[0]})
    if spec["source"] == "torchvision":
        return as_json({"arch": spec["arch"], "weights": spec["weights"]})
    at = dict(seed=wildcards.seed, epoch=wildcards.epoch)
    return as_json({"hub_id": spec["hub_id"].format(**at),
                    "revision": spec["revision"].format(**at)})


def extract_groups(modality):
    """Each extract job of extract.per network or model, for the networks of a modality that
    some analysis reads: (rule name, log, model, seeds)."""
    networks = PLAN.networks(modality)
    name = {m: "extract_" + re.sub(r"\W", "_", m) for m, _ in networks}
    if config["extract"]["per"] == "network":
        return [(f"{name[m]}_seed{s}", LOG["extract_network"].format(model=m, seed=s), m, [s])
                for m, s in networks]
    return [(name[m], LOG["extract_model"].format(model=m), m,
             [s for other, s in networks if other == m]) for m in name]


def extract_points(model, seeds):
    """The checkpoints one extract job of the group (model, seeds) reads and writes
    (`convergent extract --points` or `extract-text --points`): source, stimulus sets,
    outputs and labels, network by network in training order."""
    points = []
    for seed in seeds:
        for epoch, stimsets in network_checkpoints(PLAN.extract_jobs, model, seed,
                                                   [IMAGES, SENTENCES, *OOD]):
            at = dict(model=model, seed=str(seed), epoch=epoch_label(epoch))
            source = json.loads(model_source(SimpleNamespace(**at)))
            files = {key: [PATHS[key].format(stimset=s, **at) for s in stimsets]
                     for key in ("activations", "accuracy")}
            point = {"source": source,
                     "labels": {**at, "seed": int(seed), "epoch": json.loads(at["epoch"])}}
            if MODELS[model]["modality"] == "language":
                point.update(out=files["activations"][0], record=files["accuracy"][0])
            else:
                point.update(stimsets=stimsets, **files)
            points.append(point)
    return points


def extract_inputs(points):
    """The checkpoint files (or model folders) one extract job (a network or a model) reads,
    from its points (extract_points)."""
    return list(dict.fromkeys(path for point in points for path in model_input(SimpleNamespace(
        model=point["labels"]["model"], seed=str(point["labels"]["seed"]),
        epoch=epoch_label(point["labels"]["epoch"])))))


def extract_outputs(points):
    """Every activation and accuracy file one extract job (a network or a model) writes, from
    its points."""
    return [path for point in points
            for key in ("activations", "accuracy", "out", "record")
            for path in ([point[key]] if isinstance(point.get(key), str) else point.get(key, []))]


AlignJob = namedtuple("AlignJob", "analysis model_x model_y epoch")
#: align task (analysis, task) → its points (pair, epoch, stimset): looked up, not searched,
#: as Snakemake calls the input and params functions of thousands of align jobs
TASK_POINTS = task_points(PLAN.align_jobs, PLAN.align_tasks)


def activation_file(analysis, pair, s, epoch, stimset):
    """The activations side ``s`` (x or y) of model pair ``pair`` (model_x, seed_x, model_y,
    seed_y) reads at point (epoch, stimset) of an analysis."""
    model, seed = pair[0:2] if s == "x" else pair[2:4]
    at = side_epoch(MODELS, AlignJob(analysis, pair[0], pair[2], epoch), s)
    return PATHS["activations"].format(model=model, seed=seed, epoch=epoch_label(at),
                                       stimset=stimset)


def align_points(wildcards):
    """Each point of an align task: its files a (side x) and b (side y), its labels (the
    pair and the point), and for a matched baseline the OOD set's activations of side x,
    whose size it takes."""
    points, analysis = [], wildcards.analysis
    for pair, epoch, stimset in TASK_POINTS[(analysis, wildcards.task)]:
        read = read_stimset(stimset)
        point = {"a": activation_file(analysis, pair, "x", epoch, read),
                 "b": activation_file(analysis, pair, "y", epoch, read),
                 "labels": {**dict(zip(("model_x", "seed_x", "model_y", "seed_y"), pair)),
                            "epoch": epoch, "stimset": stimset}}
        if ood := matched_ood(stimset):
            point["subset_like"] = activation_file(analysis, pair, "x", epoch, ood)
        points.append(point)
    return points


def align_inputs(wildcards):
    """Every activation file an align task reads."""
    return list(dict.fromkeys(path for point in align_points(wildcards)
                              for key in ("a", "b", "subset_like") if (path := point.get(key))))


def align_options(wildcards):
    """The scoring options of an align task: its points, metrics, layer pairs (every pair
    across models, corresponding layers otherwise), folds, seed, every correlation of
    align.corr, and its chance and significance options (metrics.md, "Chance and
    significance": the stimulus-shuffle null of its analysis, the rotation draws)."""
    settings, analysis = config["align"], wildcards.analysis
    metrics = ("permutation" if analysis == "rotation"
               else ",".join(settings["metrics"][analysis]))
    options = [f"--points {shlex.quote(as_json(align_points(wildcards)))}",
               f"--metrics {metrics} --pairs {'all' if analysis == 'cross' else 'diagonal'}",
               f"--folds {settings['folds']} --seed {settings['seed']}",
               f"--corr {','.join(settings['corr'])}",
               f"--subset-seed {config['stimuli']['seed']}"]
    if null := settings["null_draws"][analysis]:
        options += [f"--null {null} --null-seed {settings['null_seed']}",
                    f"--null-metrics {','.join(settings['null_metrics'])}"]
    if analysis == "rotation":
        options.append(f"--rotate {settings['rotation_seed']} --rotations {settings['rotations']}")
    return " ".join(options)


def align_labels(wildcards):
    """The align task's analysis, a column of its table (each point labels its own pair)."""
    return labels(analysis=wildcards.analysis)


def theory_spec(wildcards):
    return as_json(PLAN.theory_runs[(wildcards.experiment, wildcards.run, wildcards.seed)])


def theory_batch_runs(batch):
    """The runs one theory job trains in turn (theory.runs_per_job), each with its outputs."""
    return [{"spec": spec, **{key: PATHS[f"theory_{kind}"].format(
        experiment=spec["experiment"], run=spec["run"], seed=spec["seed"])
        for key, kind in (("trajectory", "run"), ("fit", "fit"))}}
        for spec in PLAN.theory_batches[batch]]
