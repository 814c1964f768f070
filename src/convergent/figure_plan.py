"""Which figures a config's results can feed (a light module: the workflow imports it while
building the DAG, so it must not pull in matplotlib or pandas)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Needs:
    analyses: tuple[str, ...]  # analyses the config must run
    metric: str | None = None  # a metric each of them must compute
    corr: str = "pearson"


#: Figure name → what its data needs, in the report's order.
FIGURE_NEEDS: dict[str, Needs] = {
    "depth_profile": Needs(("seeds",)),
    "cross_grids": Needs(("cross",)),
    "training": Needs(("training",), "procrustes"),
    "distribution_shift": Needs(("ood", "seeds"), "procrustes"),
    "ood_accuracy": Needs(("ood",), "procrustes"),
    "rotation": Needs(("rotation",)),
    "depth_profile_spearman": Needs(("seeds",), corr="spearman"),
    "distribution_shift_spearman": Needs(("ood", "seeds"), "procrustes", "spearman"),
}
#: Panels for model families the workflow does not train yet (self-supervised, ViT, language
#: models): listed so the report says why they are absent.
NOT_YET = {"beyond_cnns": "the config has no self-supervised, ViT or language model"}


def left_out(analyses, metrics: dict, corr, ood_sets) -> dict[str, str]:
    """Figure name → why the config's results cannot feed it (absent names are drawn).

    ``analyses``, ``metrics`` (analysis → metric list), ``corr`` and ``ood_sets`` are the
    config's ``align.analyses``, ``align.metrics``, ``align.corr`` and ``stimuli.ood``.
    """
    reasons = dict(NOT_YET)
    for name, needs in FIGURE_NEEDS.items():
        missing = [a for a in needs.analyses if a not in analyses]
        lacking = [a for a in needs.analyses if needs.metric and a in metrics
                   and needs.metric not in metrics[a]]
        if missing:
            reasons[name] = f"the config runs no {' or '.join(missing)} analysis"
        elif lacking:
            reasons[name] = f"align.metrics.{lacking[0]} leaves out {needs.metric}"
        elif needs.corr not in corr:
            reasons[name] = f"align.corr does not ask for {needs.corr}"
        elif "ood" in needs.analyses and not ood_sets:
            reasons[name] = "stimuli.ood lists no OOD set"
    return reasons
