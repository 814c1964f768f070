"""The config turned into what the workflow runs: models, job tables, figures and theory runs.

Read while Snakemake builds its DAG, so nothing here imports torch or matplotlib, and all of it
is testable without Snakemake. :func:`make_plan` is the one entry point the workflow calls;
the modules hold the pieces:

- :mod:`.models`: each model's family, modality, seeds, training axis and stimulus set;
- :mod:`.jobs`: the align and extract job tables per analysis;
- :mod:`.figures`: which figures the config's results can feed, and why the rest are left out;
- :mod:`.theory`: the two-point theory's runs and figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .figures import FIGURE_NEEDS, left_out
from .models import IMAGES, SENTENCES, family, groups, resolve_models, trained_here
from .theory import theory_batches, theory_figures, theory_runs

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Plan:
    """Everything the workflow derives from one validated config.

    Attributes
    ----------
    models : dict
        model name → resolved spec (:func:`.models.resolve_models`).
    groups : list of list of str
        models the cross analysis compares with each other.
    align_jobs, extract_jobs : pandas.DataFrame
        one row per align point (analysis, model pair, epoch, stimulus set), and per (model,
        seed, epoch, stimulus set) they read.
    align_tasks : pandas.DataFrame
        one row per model pair of each align job of the workflow: its analysis, its task
        name and the pair (:func:`.jobs.alignment_tasks`, ``align.pairs_per_task`` pairs a
        task).
    figures : list of str
        the figures the results can feed, in the report's order.
    left_out : dict
        figure → why the config's results cannot feed it.
    theory_runs : dict
        (experiment, run, seed as str) → the run's spec.
    theory_batches : dict
        job name → the specs of the runs one job trains in turn (``theory.runs_per_job``).
    theory_figures : list of str
        the theory figures the configured experiments can feed.
    """

    models: dict[str, dict]
    groups: list[list[str]]
    align_jobs: pd.DataFrame
    align_tasks: pd.DataFrame
    extract_jobs: pd.DataFrame
    figures: list[str]
    left_out: dict[str, str]
    theory_runs: dict[tuple[str, str, str], dict]
    theory_batches: dict[str, list[dict]]
    theory_figures: list[str]

    def trained(self, modality: str) -> list[str]:
        """Models of a modality trained by the workflow."""
        return trained_here(self.models, modality)

    def of_modality(self, modality: str) -> list[str]:
        return [m for m, s in self.models.items() if s["modality"] == modality]

    def networks(self, modality: str) -> list[tuple[str, int]]:
        """(model, seed) of every network of a modality that some analysis reads."""
        jobs = self.extract_jobs[self.extract_jobs.model.isin(self.of_modality(modality))]
        return list(jobs[["model", "seed"]].drop_duplicates().itertuples(index=False,
                                                                         name=None))


def make_plan(config: dict, model_defaults: dict) -> Plan:
    """The plan of a validated ``config`` (schema defaults filled); ``model_defaults`` are the
    schema's per-model defaults. A ``ValueError`` names the config key at fault."""
    from .jobs import alignment_jobs, alignment_tasks, extraction_jobs

    models = resolve_models(config, model_defaults)
    model_groups = groups(models)
    align, ood = config["align"], config["stimuli"]["ood"]
    jobs = alignment_jobs(models, model_groups, align["analyses"], ood)
    missing = left_out(align["analyses"], align["metrics"], align["corr"], ood, models)
    runs = theory_runs(config["theory"])
    return Plan(models=models, groups=model_groups, align_jobs=jobs,
                align_tasks=alignment_tasks(jobs, align["pairs_per_task"]),
                extract_jobs=extraction_jobs(jobs, models),
                figures=[name for name in FIGURE_NEEDS if name not in missing],
                left_out=missing,
                theory_runs={(r["experiment"], r["run"], str(r["seed"])): r for r in runs},
                theory_batches=theory_batches(runs, config["theory"]["runs_per_job"]),
                theory_figures=theory_figures(config["theory"]))


def __getattr__(name: str):
    # The job tables need pandas, which the jobs that only look up a name (a figure's needs,
    # the stimulus sets) should not pay for at start-up.
    if name == "alternatives":
        from .jobs import alternatives

        return alternatives
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["IMAGES", "SENTENCES", "Plan", "alternatives", "family", "make_plan"]
