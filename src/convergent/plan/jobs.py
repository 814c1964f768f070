"""The workflow's job tables: which align jobs an analysis makes, and which activations they read.

The align table has one row per *point*: (analysis, model pair, epoch, stimulus set). The
workflow runs one align job per *task*: an analysis and ``align.pairs_per_task`` of its model
pairs (:func:`alignment_tasks`; one by default), scoring all of their points of that analysis
(every checkpoint of the training analysis, every OOD set and its size-matched baseline, ...),
all their layer pairs, under every correlation of ``align.corr``, in one process: Python and
torch start once per task, not once per point, and a paper-scale DAG has a tenth of the jobs.
The price: a task reruns whole when the activations of any of its points change (a new kept
checkpoint reruns the pair's training task). Extraction is one job per checkpoint, or with
``extract.per: network`` one per network (:func:`network_checkpoints`). Per analysis
(design.md, "Analyses"):

- ``seeds``: every seed pair of a model, at its first (untrained) and last (trained) checkpoint,
  on its in-distribution set;
- ``cross``: within each group of comparable models (:func:`convergent.plan.models.groups`),
  every pair of models at their first seeds, and each model with itself across its first two
  seeds, at the final checkpoint (each model's own: :func:`side_epoch`); two language models
  of different architectures at every checkpoint (:func:`followed_over_training`);
- ``training``: every seed pair at every checkpoint of the model's axis;
- ``ood``: every seed pair of a vision model at its final checkpoint on each OOD set, and on
  the in-distribution subset of the same size (:func:`convergent.plan.models.matched_stimset`);
- ``rotation``: every seed pair at the first (untrained: the control) and final checkpoint,
  native vs rotated permutation scores.

Recorded responses (``source: responses``) are compared across subjects in the seeds analysis
(each region with itself: the region's noise ceiling) and, in the cross analysis, with every
vision network at the network's final checkpoint (:func:`brain_pairs`).
"""

from __future__ import annotations

import itertools
import re

import pandas as pd

from .models import RESPONSES, family, matched_stimset, modality, read_stimset

ALIGN_COLUMNS = ["analysis", "model_x", "seed_x", "model_y", "seed_y", "epoch", "stimset"]
#: An align task: an analysis and its name (:func:`alignment_tasks`); a pair within it.
TASK_COLUMNS = ["analysis", "task"]
PAIR_COLUMNS = ALIGN_COLUMNS[1:5]
EXTRACT_COLUMNS = ["model", "seed", "epoch", "stimset"]


def recorded(spec: dict) -> bool:
    """Whether a model is recorded responses (a brain, say), not a network."""
    return family(spec) == RESPONSES


def brain_pairs(models: dict[str, dict]) -> list[tuple]:
    """Every vision network (its first seed) against every recorded-responses model (its first
    subject): the network's layers × the regions, at the network's final checkpoint."""
    responses = [m for m, spec in models.items() if recorded(spec)]
    networks = [m for m, spec in models.items()
                if not recorded(spec) and modality(spec) == "vision"]
    return [(net, models[net]["seeds"][0], resp, models[resp]["seeds"][0])
            for net in networks for resp in responses]


def side_epoch(models: dict[str, dict], job, side: str):
    """The checkpoint side ``side`` (``x`` or ``y``) of align job ``job`` (anything with the
    :data:`ALIGN_COLUMNS` as attributes) is read at: the job's epoch, except that recorded
    responses have one recording, and that the cross analysis at the final checkpoint reads
    each model at its own last checkpoint (models trained here each have their own recipe's
    axis, design.md "Training axis")."""
    spec = models[getattr(job, f"model_{side}")]
    if recorded(spec):
        return spec["epochs"][-1]
    if job.analysis == "cross" and not followed_over_training(models, job.model_x,
                                                                job.model_y):
        return spec["epochs"][-1]
    return job.epoch


def seed_pairs(models: dict[str, dict], name: str) -> list[tuple]:
    """(model, seed a, model, seed b) for every pair of the model's seeds."""
    return [(name, a, name, b) for a, b in itertools.combinations(models[name]["seeds"], 2)]


def cross_pairs(models: dict[str, dict], groups: list[list[str]]) -> list[tuple]:
    """Every pair of models of a group, a model with itself included: the same model across
    its first two seeds, two models at their first seeds."""
    pairs = []
    for group in groups:
        for a, b in itertools.combinations_with_replacement(group, 2):
            seeds_a, seeds_b = models[a]["seeds"], models[b]["seeds"]
            if a == b and len(seeds_a) < 2:
                continue
            pairs.append((a, seeds_a[0], b, seeds_a[1] if a == b else seeds_b[0]))
    return pairs


def followed_over_training(models: dict[str, dict], a: str, b: str) -> bool:
    """Whether the cross analysis scores models ``a`` and ``b`` at every checkpoint, not only
    the final one: two language models of different architectures on one axis (the paper's
    Pythia-70m vs Pythia-160m over training, Fig. 8C)."""
    x, y = models[a], models[b]
    return (a != b and modality(x) == modality(y) == "language"
            and x.get("epochs") == y.get("epochs"))


def analysis_settings(analysis: str, spec: dict, ood: list[str]) -> list[tuple]:
    """(epoch, stimulus set) of one analysis for one model (recorded responses take part in
    the seeds analysis, across subjects, and in the cross analysis, beside networks)."""
    epochs, final, stimset = spec["epochs"], spec["epochs"][-1], spec["stimset"]
    if recorded(spec) and analysis not in ("seeds", "cross"):
        return []
    if analysis in ("seeds", "rotation"):
        return [(e, stimset) for e in sorted({epochs[0], final})]
    if analysis == "training":
        return [(e, stimset) for e in epochs]
    if analysis == "ood":
        if spec["modality"] != "vision":
            return []
        return [(final, s) for s in ood] + [(final, matched_stimset(s)) for s in ood]
    return [(final, stimset)]  # cross


def alignment_jobs(models: dict[str, dict], groups: list[list[str]], analyses: list[str],
                   ood: list[str]) -> pd.DataFrame:
    """One row per align job (columns :data:`ALIGN_COLUMNS`), in a stable order."""
    rows = []
    for analysis in analyses:
        pairs = (cross_pairs(models, groups) + brain_pairs(models) if analysis == "cross"
                 else [p for m in models for p in seed_pairs(models, m)])
        for mx, sx, my, sy in pairs:
            settings = analysis_settings(analysis, models[mx], ood)
            if analysis == "cross" and followed_over_training(models, mx, my):
                settings = analysis_settings("training", models[mx], ood)
            for epoch, stimset in settings:
                rows.append((analysis, mx, sx, my, sy, epoch, stimset))
    return pd.DataFrame(rows, columns=ALIGN_COLUMNS)


def pair_name(model_x, seed_x, model_y, seed_y) -> str:
    """How paths and logs name a model pair: ``resnet18-seed0__resnet18-seed1``."""
    return f"{model_x}-seed{seed_x}__{model_y}-seed{seed_y}"


def alignment_tasks(align_jobs: pd.DataFrame, pairs_per_task: int = 1) -> pd.DataFrame:
    """One row per model pair of every align task (columns :data:`TASK_COLUMNS` and
    :data:`PAIR_COLUMNS`), in the align table's order.

    An analysis's model pairs are cut, in order, into tasks of ``pairs_per_task`` pairs (the
    last may hold fewer). A task is named by its first pair, with ``+k`` when k more follow
    (``vgg11-seed0__vgg11-seed1+2``): one pair per task keeps the pair's own name."""
    pairs = align_jobs[["analysis", *PAIR_COLUMNS]].drop_duplicates()
    rows = []
    for analysis in pairs.analysis.unique():
        of_analysis = pairs[pairs.analysis == analysis][PAIR_COLUMNS].to_numpy().tolist()
        for start in range(0, len(of_analysis), pairs_per_task):
            chunk = of_analysis[start:start + pairs_per_task]
            name = pair_name(*chunk[0]) + (f"+{len(chunk) - 1}" if len(chunk) > 1 else "")
            rows += [(analysis, name, *pair) for pair in chunk]
    return pd.DataFrame(rows, columns=[*TASK_COLUMNS, *PAIR_COLUMNS])


def task_points(align_jobs: pd.DataFrame, align_tasks: pd.DataFrame
                ) -> dict[tuple, list[tuple]]:
    """Align task ``(analysis, task)`` → its points, ``(pair, epoch, stimset)`` with the pair as
    ``(model_x, seed_x, model_y, seed_y)``, pair by pair in the task's order and each pair's
    points in the align table's order (which lists a pair's points together). Epochs and seeds
    are JSON-ready numbers."""
    task_of = {(row.analysis, *row[2:]): row.task
               for row in align_tasks.itertuples(index=False)}
    points: dict[tuple, list[tuple]] = {}
    for row in align_jobs.itertuples(index=False):
        pair = tuple(plain(getattr(row, c)) for c in PAIR_COLUMNS)
        epoch = int(row.epoch) if float(row.epoch).is_integer() else float(row.epoch)
        key = (row.analysis, task_of[(row.analysis, *pair)])
        points.setdefault(key, []).append((pair, epoch, row.stimset))
    return points


def plain(value):
    """A numpy scalar as the Python number (or string) it holds, for JSON."""
    return value.item() if hasattr(value, "item") else value


def extraction_jobs(align_jobs: pd.DataFrame, models: dict[str, dict]) -> pd.DataFrame:
    """Every (model, seed, epoch, stimulus set) an align job reads, once, sorted."""
    sides = []
    for s in "xy":
        side = align_jobs[[f"model_{s}", f"seed_{s}", "epoch", "stimset"]].set_axis(
            EXTRACT_COLUMNS, axis=1)
        side["epoch"] = [side_epoch(models, job, s) for job in align_jobs.itertuples()]
        sides.append(side)
    jobs = pd.concat(sides)
    jobs["stimset"] = jobs.stimset.map(read_stimset)
    return jobs.drop_duplicates().sort_values(EXTRACT_COLUMNS).reset_index(drop=True)


def network_checkpoints(extract_jobs: pd.DataFrame, model: str, seed: int,
                        order: list[str]) -> list[tuple[float, list[str]]]:
    """The checkpoints of one network (model, seed) that some analysis reads, in training
    order, each with the stimulus sets read there in ``order``'s order: what one extract job
    of ``extract.per: network`` does."""
    rows = extract_jobs[(extract_jobs.model == model) & (extract_jobs.seed == seed)]
    return [(epoch, sorted(sets, key=order.index))
            for epoch, sets in rows.groupby("epoch", sort=True).stimset]


def alternatives(values) -> str:
    """A wildcard constraint matching exactly these values (longest first, so that ``vgg16``
    is not read as ``vgg1`` + ``6``); matches nothing when there are none."""
    ordered = sorted(map(str, values), key=len, reverse=True)
    return "|".join(re.escape(v) for v in ordered) or "(?!)"
