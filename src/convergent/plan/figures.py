"""Which figures a config's results can feed, and why the others are left out (read while the
workflow builds its DAG, so it pulls in neither matplotlib nor pandas)."""

from __future__ import annotations

from dataclasses import dataclass

from .models import RESPONSES, family, modality


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
    "training_time": Needs(("training",), "procrustes"),
    "training_change": Needs(("training",), "procrustes"),
    "cross_training": Needs(("cross",), "procrustes"),
    "brain": Needs(("cross", "seeds"), "procrustes"),
}


def beyond_cnns(models: dict) -> bool:
    """Whether the config's models include a ViT, a MoCo model or a language model."""
    return any(family(spec) != "cnn" or spec.get("objective") == "moco"
               for spec in models.values())


def language_pair(models: dict) -> bool:
    """Whether two language models of different architectures share a training axis (the
    cross analysis then follows them over training)."""
    from .jobs import followed_over_training

    return any(followed_over_training(models, a, b) for a in models for b in models if a < b)


def networks_and_responses(models: dict) -> bool:
    """Whether recorded responses stand beside at least one vision network."""
    kinds = {family(spec) for spec in models.values()
             if family(spec) == RESPONSES or modality(spec) == "vision"}
    return RESPONSES in kinds and len(kinds) > 1


#: Figures that also need certain models: figure → (test of the resolved models, why not).
MODEL_NEEDS = {
    "beyond_cnns": (beyond_cnns, "the config has no self-supervised, ViT or language model"),
    "cross_training": (language_pair, "the config has no two language models of different "
                       "architectures on one training axis"),
    "brain": (networks_and_responses, "the config has no recorded responses (source: "
              "responses) beside a vision network"),
}


def left_out(analyses, metrics: dict, corr, ood_sets, models: dict | None = None
             ) -> dict[str, str]:
    """Figure name → why the config's results cannot feed it (absent names are drawn).

    ``analyses``, ``metrics`` (analysis → metric list), ``corr``, ``ood_sets`` and ``models``
    are the config's ``align.analyses``, ``align.metrics``, ``align.corr``, ``stimuli.ood`` and
    ``models``.
    """
    reasons = {name: why for name, (test, why) in MODEL_NEEDS.items() if not test(models or {})}
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
