"""Which figures a config's results can feed, and why the others are left out (read while the
workflow builds its DAG, so it pulls in neither matplotlib nor pandas)."""

from __future__ import annotations

from dataclasses import dataclass

from .models import family


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
    "beyond_cnns": Needs(("seeds",), "procrustes"),
}
#: Why ``beyond_cnns`` (self-supervised, ViT and language models beside the CNNs) is absent.
NO_BEYOND_CNNS = "the config has no self-supervised, ViT or language model"


def beyond_cnns(models: dict | None) -> bool:
    """Whether the config's models include a ViT, a MoCo model or a language model."""
    return any(family(spec) != "cnn" or spec.get("objective") == "moco"
               for spec in (models or {}).values())


def left_out(analyses, metrics: dict, corr, ood_sets, models: dict | None = None
             ) -> dict[str, str]:
    """Figure name → why the config's results cannot feed it (absent names are drawn).

    ``analyses``, ``metrics`` (analysis → metric list), ``corr``, ``ood_sets`` and ``models``
    are the config's ``align.analyses``, ``align.metrics``, ``align.corr``, ``stimuli.ood`` and
    ``models``.
    """
    reasons = {} if beyond_cnns(models) else {"beyond_cnns": NO_BEYOND_CNNS}
    for name, needs in FIGURE_NEEDS.items():
        if name in reasons:
            continue
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
