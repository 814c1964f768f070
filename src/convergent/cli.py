"""``convergent``: the command line the workflow's rules and users call.

Every user error (bad input, unreadable file, mismatched stimuli) ends as one line on stderr and
exit code 2, with no output file written.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import __version__
from .config import section_schema
from .errors import ConvergentError

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line, like every other error of the CLI."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _json_value(text: str, kind: type, what: str):
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise argparse.ArgumentTypeError(f"not valid JSON ({err})") from None
    if not isinstance(value, kind):
        raise argparse.ArgumentTypeError(f"expected a JSON {what}")
    return value


def _json(text: str) -> dict:
    return _json_value(text, dict, "object")


def _json_list(text: str) -> list:
    return _json_value(text, list, "list")


def _label(text: str) -> tuple[str, object]:
    """KEY=VALUE, with an integer VALUE stored as an integer and a decimal one (a fraction
    of an epoch, ``0.25``) as a float."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    if value.lstrip("-").isdigit():
        return key, int(value)
    whole, point, fraction = value.lstrip("-").partition(".")
    if point and whole.isdigit() and fraction.isdigit():
        return key, float(value)
    return key, value


def _metric_list(text: str) -> list[str]:  # also used for other comma lists
    return [m.strip() for m in text.split(",") if m.strip()]


def _corr_list(text: str) -> list[str]:
    chosen = _metric_list(text)
    unknown = sorted(set(chosen) - {"pearson", "spearman"})
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"{', '.join(unknown) or 'nothing'}: not pearson or "
                                         "spearman")
    return list(dict.fromkeys(chosen))


def _add_scoring_options(p: argparse.ArgumentParser, several_corr: bool = False) -> None:
    p.add_argument("--folds", type=int, default=5, help="k of the k-fold split (default 5)")
    p.add_argument("--seed", type=int, default=0, help="seed of the k-fold split (default 0)")
    if several_corr:  # one process scores under each: the activations are read once
        p.add_argument("--corr", type=_corr_list, default=["pearson"],
                       help="comma-separated: pearson, spearman or both (default pearson)")
    else:
        p.add_argument("--corr", choices=["pearson", "spearman"], default="pearson")
    p.add_argument("--device", default="auto", help="torch device: auto (CUDA if present), cpu, "
                   "cuda, cuda:1, ...")
    p.add_argument("--dtype", choices=["float64", "float32"], default=None,
                   help="default: float64 on the CPU, float32 on a GPU")


def _add_executor_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group(
        "blocks", "split the grid into blocks of A's layers and run them as one submitit job "
        "array; a rerun submits only the blocks not done yet")
    g.add_argument("--executor", choices=["local", "slurm"], default=None,
                   help="local: processes on this machine; slurm: one SLURM job array "
                   "(default: score in this process)")
    g.add_argument("--blocks", type=int, default=None,
                   help="number of blocks (default: one per layer of A on SLURM, one per CPU "
                   "locally)")
    g.add_argument("--work-dir", type=Path, default=Path("convergent-blocks"),
                   help="blocks and job logs (default ./convergent-blocks)")
    g.add_argument("--partition", default=None, help="SLURM partition of the block jobs")
    g.add_argument("--account", default=None, help="SLURM account of the block jobs")
    g.add_argument("--gpus", type=int, default=1, help="GPUs per block job (default 1)")
    g.add_argument("--cpus", type=int, default=2, help="CPUs per block job (default 2)")
    g.add_argument("--mem-gb", type=float, default=16, help="memory per block job (default 16)")
    g.add_argument("--time-min", type=int, default=60,
                   help="time limit per block job in minutes (default 60)")


def build_parser() -> argparse.ArgumentParser:
    from .metrics.contract import METRICS  # no torch import: some verbs never need it
    from .plan.figures import FIGURE_NEEDS  # light: no matplotlib until a figure is drawn

    parser = _Parser(prog="convergent", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"convergent {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("score", help="score one pair of layers (.npy, stimuli × units); "
                       "prints one JSON object")
    p.add_argument("x", type=Path, metavar="X.npy")
    p.add_argument("y", type=Path, metavar="Y.npy")
    p.add_argument("--metric", required=True, choices=METRICS)
    p.add_argument("--rotate", type=int, metavar="SEED", default=None,
                   help="permutation only: also score X after a Haar rotation with this seed")
    _add_scoring_options(p)
    p.set_defaults(run=_run_score)

    p = sub.add_parser("grid", help="score every layer pair of two activation files "
                       "(.safetensors, one stimuli × units tensor per layer)")
    p.add_argument("a", type=Path, metavar="A.safetensors", nargs="?")
    p.add_argument("b", type=Path, metavar="B.safetensors", nargs="?")
    p.add_argument("--points", type=_json_list, default=None, metavar="JSON",
                   help="instead of A B: a list of points, each {a, b, labels (columns of its "
                   "rows), subset_like (optional)}, scored in turn into one table (the "
                   "workflow's align job: one model pair at all the points of an analysis)")
    p.add_argument("--metrics", type=_metric_list, default=["procrustes"],
                   help=f"comma-separated, from {','.join(METRICS)} (default procrustes)")
    p.add_argument("--pairs", choices=["all", "diagonal"], default="all")
    p.add_argument("--rotate", type=int, metavar="SEED", default=None,
                   help="with permutation: add 'permutation_rotated' rows (Haar rotation of A's "
                   "layers with this seed)")
    p.add_argument("--rotations", type=int, metavar="K", default=1,
                   help="with --rotate: K Haar draws (seeds SEED … SEED+K-1); the rotated row "
                   "is their mean with null_mean, null_sd and p_value (native vs rotated)")
    p.add_argument("--null", type=int, metavar="K", default=0,
                   help="stimulus-shuffle null: score each pair against K row permutations of "
                   "B and add null_mean, null_sd, p_value (default 0: none)")
    p.add_argument("--null-seed", type=int, default=0, help="seed of the shuffles (default 0)")
    p.add_argument("--null-metrics", type=_metric_list, default=None,
                   help="comma-separated: the metrics the null is drawn for (default: all; a "
                   "linear null costs about K pairs)")
    p.add_argument("--subset-like", type=Path, default=None, metavar="C.safetensors",
                   help="score on a seeded subset of the stimuli as large as C's stimulus set "
                   "(the in-distribution baseline matched to an OOD set's size)")
    p.add_argument("--subset-seed", type=int, default=0, help="seed of that subset (default 0)")
    p.add_argument("--out", type=Path, required=True, metavar="FILE.parquet",
                   help="the table (.parquet, or .csv)")
    p.add_argument("--label", action="append", default=[], type=_label, metavar="KEY=VALUE",
                   help="add a constant column to the table (repeatable)")
    _add_scoring_options(p, several_corr=True)
    _add_executor_options(p)
    p.set_defaults(run=_run_grid)

    p = sub.add_parser("train", help="train one model from one seed, a checkpoint per epoch")
    p.add_argument("--model", type=_json, required=True, help="JSON: arch, width, small_input")
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--data", type=_json, required=True, help="JSON: the config's data section")
    p.add_argument("--settings", type=_json, required=True,
                   help="JSON: epochs, batch_size, lr, momentum, weight_decay")
    p.add_argument("--state-dir", type=Path, required=True,
                   help="where epoch checkpoints accumulate (survives a killed job)")
    p.add_argument("--checkpoints", type=Path, nargs="+", required=True,
                   help="an output path per checkpoint of the run's axis, in order: the kept "
                   "epochs and the fractions of epoch 1 (sub_epochs)")
    p.add_argument("--log", type=Path, required=True, help="accuracy per checkpoint (.csv)")
    p.add_argument("--label", action="append", default=[], type=_label, metavar="KEY=VALUE")
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=None)
    p.set_defaults(run=_run_train)

    p = sub.add_parser("extract", help="a vision model's layer activations (conv centre "
                       "pixels, ViT [CLS] tokens) on stimulus sets, and its accuracy on each")
    p.add_argument("checkpoint", type=Path, nargs="?", default=None,
                   help="a checkpoint file (or give --source)")
    p.add_argument("--source", type=_json, default=None,
                   help='JSON: {"checkpoint": path}, {"arch": ..., "weights": '
                   '"torchvision:NAME"} or {"responses": file} (recorded responses)')
    p.add_argument("--stimsets", type=_metric_list, default=None,
                   help="comma-separated: test (the in-distribution split) and OOD set names")
    p.add_argument("--data", type=_json, required=True)
    p.add_argument("--stimuli", type=_json, required=True)
    p.add_argument("--activations", type=Path, nargs="+", default=None,
                   metavar="FILE.safetensors", help="one per stimulus set, in --stimsets order")
    p.add_argument("--accuracy", type=Path, nargs="+", default=None, metavar="FILE.csv",
                   help="one per stimulus set: its accuracy, labels and stimulus count")
    p.add_argument("--points", type=_json_list, default=None, metavar="JSON",
                   help="instead of one checkpoint: a list of them, each {source, stimsets, "
                   "activations, accuracy, labels}, extracted in turn in this process (the "
                   "workflow's extract.per: network)")
    point = section_schema("extract.point")
    p.add_argument("--point", choices=point["enum"], default=point["default"],
                   help="where a CNN layer is measured: after its nonlinearity (activation) "
                   "or at the raw convolution output (conv)")
    p.add_argument("--label", action="append", default=[], type=_label, metavar="KEY=VALUE")
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=None)
    p.set_defaults(run=_run_extract)

    p = sub.add_parser("train-language", help="train a tiny GPT-NeoX from one seed on the "
                       "generated corpus, a model folder per epoch")
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--settings", type=_json, default={},
                   help="JSON: the config's language section (corpus, model, train)")
    p.add_argument("--state-dir", type=Path, required=True)
    p.add_argument("--checkpoints", type=Path, nargs="+", required=True,
                   help="an output folder per checkpoint: epochs 0 … E and the fractions of "
                   "epoch 1 (train.sub_epochs), in order")
    p.add_argument("--log", type=Path, required=True, help="loss per epoch (.csv)")
    p.add_argument("--label", action="append", default=[], type=_label, metavar="KEY=VALUE")
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=None)
    p.set_defaults(run=_run_train_language)

    p = sub.add_parser("extract-text", help="a language model's sentence representations "
                       "after each block, and its next-token loss on the sentences")
    p.add_argument("--source", type=_json, default=None,
                   help='JSON: {"checkpoint": folder} or {"hub_id": ..., "revision": ...}')
    p.add_argument("--sentences", type=_json, required=True,
                   help="JSON: the config's sentences section")
    p.add_argument("--out", type=Path, default=None, metavar="FILE.safetensors")
    p.add_argument("--record", type=Path, default=None, metavar="FILE.csv",
                   help="loss, next-token accuracy, tokens, stimuli")
    p.add_argument("--points", type=_json_list, default=None, metavar="JSON",
                   help="instead of --source, --out and --record: a list of checkpoints, each "
                   "{source, out, record, labels}, extracted in turn in this process")
    p.add_argument("--label", action="append", default=[], type=_label, metavar="KEY=VALUE")
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=None)
    p.set_defaults(run=_run_extract_text)

    p = sub.add_parser("aggregate", help="tidy tables from the per-job outputs")
    p.add_argument("--alignment", type=Path, nargs="*", default=[])
    p.add_argument("--accuracy", type=Path, nargs="*", default=[])
    p.add_argument("--training", type=Path, nargs="*", default=[])
    p.add_argument("--models", type=_json_list, default=[],
                   help="JSON: one object per model (the plan's model rows)")
    p.add_argument("--out", type=Path, nargs="+", required=True,
                   metavar="TABLE.parquet|csv", help="where each table goes: the file's stem "
                   "names the table (alignment, accuracy, training, models)")
    p.set_defaults(run=_run_aggregate)

    p = sub.add_parser("figure", help="draw one figure from the result tables")
    p.add_argument("name", choices=list(FIGURE_NEEDS))
    p.add_argument("--tables", type=Path, nargs="+", required=True,
                   metavar="TABLE.parquet|csv", help="the result tables, each named by its "
                   "file's stem (alignment, accuracy, training, models .parquet)")
    p.add_argument("--out", type=Path, nargs="+", required=True, metavar="FILE.png|svg|csv",
                   help="where the figure goes (format from the suffix); a .csv path receives "
                   "the numbers the figure shows as a table instead, for the figures that have "
                   "one (rotation: per architecture, min and max over layers of the native and "
                   "rotated scores and of the change in %%); no table is written otherwise")
    p.set_defaults(run=_run_figure)

    p = sub.add_parser("summary", help="the headline numbers as markdown")
    p.add_argument("--tables", type=Path, nargs="+", required=True,
                   metavar="TABLE.parquet|csv", help="the result tables, each named by its "
                   "file's stem; a headline whose table is not given says so")
    p.add_argument("--out", type=Path, required=True, metavar="summary.md")
    p.add_argument("--headlines", type=Path, default=None, metavar="headlines.csv",
                   help="also write the headline table (headline, model, value, note) here")
    p.add_argument("--left-out", action="append", default=[], type=_label, metavar="NAME=WHY",
                   help="a figure the config cannot feed, and why (repeatable)")
    p.add_argument("--config", type=_json, default=None, help="JSON: the workflow's config, "
                   "shown at the end")
    p.set_defaults(run=_run_summary)

    _add_theory_parser(sub)

    p = sub.add_parser("install-profile", help="install the project's SLURM profile as a "
                       "named Snakemake profile, so that `snakemake --profile slurm` finds it")
    p.add_argument("--name", default="slurm", help="profile name (default slurm)")
    p.add_argument("--dest", type=Path, default=None,
                   help="profiles folder (default: Snakemake's user profile folder, "
                   "$XDG_CONFIG_HOME/snakemake)")
    p.set_defaults(run=_run_install_profile)

    p = sub.add_parser("demo", help="generate two random networks' activations and align them "
                       "(the engine on generated data, no download)")
    p.add_argument("--out", type=Path, default=Path("results/demo"))
    p.add_argument("--stimuli", type=int, default=2000)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(run=_run_demo)
    return parser


def _add_theory_parser(sub) -> None:
    from .plan.theory import THEORY_FIGURE_NEEDS

    theory = sub.add_parser("theory", help="the two-point effective theory: run an "
                            "experiment, collect the runs, draw a figure")
    verbs = theory.add_subparsers(dest="theory_command", required=True, parser_class=_Parser)
    p = verbs.add_parser("run", help="train one run, fit the theory, write its trajectory")
    p.add_argument("--spec", type=_json, default=None,
                   help="JSON: one run of convergent.plan.theory.theory_runs")
    p.add_argument("--trajectory", type=Path, default=None, metavar="FILE.parquet")
    p.add_argument("--fit", type=Path, default=None, metavar="FILE.csv")
    p.add_argument("--runs", type=_json_list, default=None, metavar="JSON",
                   help="instead of --spec, --trajectory and --fit: a list of runs, each "
                   "{spec, trajectory, fit}, trained in turn in this process (the workflow's "
                   "theory.runs_per_job)")
    p.add_argument("--threads", type=int, default=None)
    p.set_defaults(run=_run_theory_run)
    p = verbs.add_parser("collect", help="the theory tables and the checked summary")
    p.add_argument("--trajectories", type=Path, nargs="+", required=True)
    p.add_argument("--fits", type=Path, nargs="+", required=True)
    p.add_argument("--out", action="append", required=True, type=_named_path,
                   metavar="NAME=PATH", help="where one output goes (repeat for each of "
                   "trajectories, fits, final_distance, sweep: .parquet or .csv; summary: .md)")
    p.add_argument("--default", default="default",
                   help="the variant the required fit quality is checked on")
    p.set_defaults(run=_run_theory_collect)
    p = verbs.add_parser("figure", help="draw one theory figure from the theory tables")
    p.add_argument("name", choices=list(THEORY_FIGURE_NEEDS))
    p.add_argument("--tables", type=Path, nargs="+", required=True,
                   metavar="TABLE.parquet|csv", help="the theory tables, each named by its "
                   "file's stem (trajectories, fits, final_distance, sweep)")
    p.add_argument("--out", type=Path, nargs="+", required=True, metavar="FILE.png|svg")
    p.set_defaults(run=_run_theory_figure)


def _run_theory_run(args) -> int:
    from .theory.results import write_run

    _one_or_points({"--spec": args.spec, "--trajectory": args.trajectory, "--fit": args.fit},
                   args.runs, "--runs")
    runs = args.runs if args.runs is not None else [
        {"spec": args.spec, "trajectory": args.trajectory, "fit": args.fit}]
    for k, run in enumerate(runs):
        if not isinstance(run, dict) or sorted(run) != ["fit", "spec", "trajectory"]:
            raise ConvergentError(f"--runs entry {k}: expected an object with exactly spec, "
                                  "trajectory and fit")
    _device("cpu", args.threads)
    for run in runs:
        fits = write_run(run["spec"], Path(run["trajectory"]), Path(run["fit"]))
        # one line per fitted layer (a depth run fits every hidden layer), the layer named
        for fit in fits:
            print(json.dumps({"run": f"{run['spec'].get('run')}/seed{run['spec'].get('seed')}",
                              **{k: v for k, v in fit.items() if k == "layer"
                                 or k.startswith(("eta", "r2"))}}))
    return 0


def _named_path(text: str) -> tuple[str, Path]:
    """NAME=PATH."""
    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(f"expected NAME=PATH, got {text!r}")
    return name, Path(path)


def _run_theory_collect(args) -> int:
    from .theory.results import collect

    names = [name for name, _ in args.out]
    if twice := sorted({name for name in names if names.count(name) > 1}):
        raise ConvergentError(f"--out {', '.join(twice)}: given more than once")
    collect(args.trajectories, args.fits, dict(args.out), default=args.default)
    return 0


def _run_theory_figure(args) -> int:
    from .figures.theory import draw_theory

    draw_theory(args.name, args.tables, args.out)
    return 0


def _run_score(args) -> int:
    from .io import read_array
    from .metrics import rotation_test, score

    X, Y = read_array(args.x), read_array(args.y)
    common = dict(folds=args.folds, seed=args.seed, corr=args.corr, device=args.device,
                  dtype=args.dtype, names=(str(args.x), str(args.y)))
    if args.rotate is None:
        print(json.dumps(score(X, Y, metric=args.metric, **common).to_json()))
        return 0
    if args.metric != "permutation":
        raise ConvergentError(f"--rotate applies to --metric permutation, not {args.metric}")
    test = rotation_test(X, Y, rotation_seed=args.rotate, **common)
    out = test["native"].to_json()
    out.update(native=test["native"].score, rotated=test["rotated"].score,
               change_pct=test["change_pct"], rotation_seed=args.rotate)
    print(json.dumps(out))
    return 0


def _run_grid(args) -> int:
    import pandas as pd

    from .io import write_table

    points = _grid_points(args)
    if args.executor is None:
        scored = _grid_here(args, points)
    else:
        scored = [[_grid_in_blocks(args, point, corr) for corr in args.corr] for point in points]
    tables = []
    for point, by_corr in zip(points, scored, strict=True):
        for table in by_corr:
            for key, value in [*point["labels"].items(), *args.label]:
                table[key] = value
            tables.append(table)
    write_table(pd.concat(tables, ignore_index=True), args.out)
    return 0


def _grid_points(args) -> list[dict]:
    """What a grid call scores: its two files, or each of its ``--points``."""
    if args.points is None:
        if args.b is None:
            raise ConvergentError("give two activation files A B, or --points")
        return [{"a": args.a, "b": args.b, "subset_like": args.subset_like, "labels": {}}]
    if args.a is not None or args.subset_like is not None:
        raise ConvergentError("--points replaces the files A B and --subset-like")
    if not args.points:
        raise ConvergentError("--points: expected a non-empty JSON list of points")
    points = []
    for i, point in enumerate(args.points):
        if not isinstance(point, dict) or not {"a", "b"} <= set(point) or not set(point) <= {
                "a", "b", "labels", "subset_like"}:
            raise ConvergentError(f"--points[{i}]: expected an object with a, b and optionally "
                                  "labels, subset_like")
        subset = point.get("subset_like")
        points.append({"a": Path(point["a"]), "b": Path(point["b"]),
                       "subset_like": None if subset is None else Path(subset),
                       "labels": dict(point.get("labels") or {})})
    return points


def _subset(point: dict) -> int | None:
    from .io import stimulus_count

    return None if point["subset_like"] is None else stimulus_count(point["subset_like"])


def _grid_here(args, points: list[dict]) -> list[list]:
    """Every point's table per correlation, in this process: points that share a file (the
    seeds 0-1, 0-2, 1-2 of one checkpoint) are read and scored together, each shared layer
    prepared once (:func:`convergent.metrics.grid_many`)."""
    from .io import read_layers, subset_of
    from .metrics import grid_many
    from .metrics.engine import check_metrics, check_tests, connected

    check_metrics(args.metrics, args.rotate)
    check_tests(args.null, args.rotations, args.rotate, args.null_metrics)
    subsets = [_subset(p) for p in points]
    keys = [((str(p["a"]), n), (str(p["b"]), n)) for p, n in zip(points, subsets, strict=True)]
    scored: list[list] = [[] for _ in points]
    for group in connected(keys):
        files = {path: read_layers(path) for c in group for path in (points[c]["a"],
                                                                      points[c]["b"])}
        pairs = [subset_of(files[points[c]["a"]], files[points[c]["b"]], points[c]["a"],
                           points[c]["b"], subsets[c], args.subset_seed) for c in group]
        for corr in args.corr:
            tables = grid_many(pairs, keys=[keys[c] for c in group],
                               names=[(str(points[c]["a"]), str(points[c]["b"])) for c in group],
                               metrics=args.metrics, pairs=args.pairs, folds=args.folds,
                               seed=args.seed, corr=corr, rotate=args.rotate,
                               device=args.device, dtype=args.dtype,
                               progress=sys.stderr.isatty(), null=args.null,
                               null_seed=args.null_seed, rotations=args.rotations,
                               null_metrics=args.null_metrics)
            for c, table in zip(group, tables, strict=True):
                scored[c].append(table)
        del files, pairs  # the group's arrays: only one group's are held at a time
    return scored


def _grid_in_blocks(args, point: dict, corr: str):
    from .distributed import ClusterOptions, GridSpec, grid_in_blocks

    spec = GridSpec(str(point["a"]), str(point["b"]), metrics=tuple(args.metrics),
                    pairs=args.pairs, folds=args.folds, seed=args.seed, corr=corr,
                    rotate=args.rotate, device=args.device, dtype=args.dtype,
                    null=args.null, null_seed=args.null_seed, rotations=args.rotations,
                    null_metrics=None if args.null_metrics is None else tuple(args.null_metrics),
                    subset=_subset(point), subset_seed=args.subset_seed)
    cluster = ClusterOptions(partition=args.partition, account=args.account, gpus=args.gpus,
                             cpus=args.cpus, mem_gb=args.mem_gb, timeout_min=args.time_min)
    return grid_in_blocks(spec, executor=args.executor, blocks=args.blocks,
                          work_dir=args.work_dir, cluster=cluster)


def _run_install_profile(args) -> int:
    from .profiles import install_profile

    target = install_profile(args.name, args.dest)
    print(f"installed the SLURM profile as {target}; run: snakemake --profile {args.name}")
    return 0


def _device(name: str, threads: int | None):
    import torch

    if threads:
        torch.set_num_threads(threads)
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return name


def _run_train(args) -> int:
    from .training import train

    train(args.model, args.seed, args.data, args.settings, args.state_dir, args.checkpoints,
          args.log, device=_device(args.device, args.threads), labels=dict(args.label))
    return 0


def _run_extract(args) -> int:
    from .extract import extract, extract_checkpoints

    one = {"a checkpoint file or --source": args.checkpoint or args.source,
           "--stimsets": args.stimsets, "--activations": args.activations,
           "--accuracy": args.accuracy}
    _one_or_points(one, args.points)
    if args.checkpoint is not None and args.source is not None:
        raise ConvergentError("give a checkpoint file or --source, not both")
    device = _device(args.device, args.threads)
    if args.points is not None:
        extract_checkpoints(args.points, args.data, args.stimuli, device=device, point=args.point)
        return 0
    extract(args.checkpoint if args.source is None else args.source, args.data, args.stimuli,
            args.stimsets, args.activations, args.accuracy, labels=dict(args.label),
            device=device, point=args.point)
    return 0


def _one_or_points(one: dict[str, object], points: list | None, flag: str = "--points"
                   ) -> None:
    """One item's options, all of them, or the list ``flag`` and none of them."""
    given = [name for name, value in one.items() if value is not None]
    if points is not None and given:
        raise ConvergentError(f"{flag} replaces {', '.join(one)}: drop {given[0]}")
    if points is None and len(given) < len(one):
        missing = next(name for name in one if name not in given)
        raise ConvergentError(f"give {missing} (or {flag})")
    if points is not None and not points:
        raise ConvergentError(f"{flag} is empty: give at least one")


def _run_train_language(args) -> int:
    from .training import train_language_model

    train_language_model(args.seed, args.settings, args.state_dir, args.checkpoints, args.log,
                         device=_device(args.device, args.threads), labels=dict(args.label))
    return 0


def _run_extract_text(args) -> int:
    from .config import with_defaults
    from .data.sentences import load_sentence_set
    from .extract import extract_text, extract_texts
    from .plan.models import SENTENCES

    _one_or_points({"--source": args.source, "--out": args.out, "--record": args.record},
                   args.points)
    spec = with_defaults("sentences", args.sentences)
    sentences, device = load_sentence_set(spec), _device(args.device, args.threads)
    if args.points is not None:
        extract_texts(args.points, sentences, pooling=spec["pooling"], device=device,
                      stimset=SENTENCES)
        return 0
    extract_text(args.source, sentences, args.out, pooling=spec["pooling"],
                 labels=dict(args.label), record=args.record, stimset=SENTENCES, device=device)
    return 0


def _run_aggregate(args) -> int:
    from .aggregate import aggregate

    aggregate(args.alignment, args.accuracy, args.training, args.models, args.out)
    return 0


def _run_figure(args) -> int:
    from .figures import draw

    why = draw(args.name, args.tables, args.out)
    if why is not None:
        print(f"convergent figure {args.name}: n/a ({why})", file=sys.stderr)
    return 0


def _run_summary(args) -> int:
    from .analysis.summary import write_summary
    from .analysis.tables import load_tables

    write_summary(load_tables(args.tables), args.out, dict(args.left_out), args.config,
                  headlines=args.headlines)
    return 0


def _run_demo(args) -> int:
    from .demo import run_demo

    run_demo(args.out, stimuli=args.stimuli, seed=args.seed)
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as done:  # usage errors, --help, --version: argparse has printed
        return int(done.code or 0)
    try:
        return args.run(args)
    except ConvergentError as err:
        print(f"convergent {args.command}: error: {err}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
