"""Alignment against normalised depth, drawn: across seeds (trained vs untrained), under shift
(:func:`convergent.analysis.depth.shift_profile`), and across model families."""

from __future__ import annotations

import pandas as pd

from ..analysis.depth import shift_profile
from ..analysis.tables import at_end, fold_scores, select
from ..plan.models import FAMILY_LABELS
from .base import METRIC_COLOURS, panels, save

#: The metrics of the depth profile, in the paper's order.
DEPTH_METRICS = ("linear", "procrustes", "permutation")


def finish(fig, axes, models, ylabel: str, out) -> list:
    """Titles, depth axis, shared score range, legend; then save."""
    for ax, model in zip(axes, models, strict=True):
        ax.set(title=model, xlabel="normalised depth", ylim=(-0.05, 1.05))
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(ylabel)
    axes[-1].legend(fontsize=7, loc="lower left")
    save(fig, out)
    return axes


def chance_band(ax, rows: pd.DataFrame, colour: str | None = None) -> None:
    """The stimulus-shuffle chance level of ``rows`` against depth: a grey band at null_mean ±
    2 null_sd (means over seed pairs), where the rows carry a null."""
    if "null_mean" not in rows.columns or rows.null_mean.isna().all():
        return
    null = rows.groupby("depth_x")[["null_mean", "null_sd"]].mean().dropna()
    ax.fill_between(null.index, null.null_mean - 2 * null.null_sd,
                    null.null_mean + 2 * null.null_sd, color="#888888", alpha=0.25,
                    edgecolor=colour, linewidth=0.5, zorder=0)


def depth_profile(tables: dict[str, pd.DataFrame], out, corr: str = "pearson") -> list:
    """Score of corresponding layers across seeds vs normalised depth, a panel per architecture,
    a line per metric; trained (the model's final checkpoint) solid, untrained (its first)
    light. Points are means, bars the standard deviation over folds and seed pairs; grey bands
    the chance level (stimulus-shuffle null_mean ± 2 null_sd) where the seeds analysis drew a
    null, edged in the metric's colour for the trained networks."""
    seeds = select(tables["alignment"], "seeds", corr)
    models = sorted(seeds.model_x.unique())
    fig, axes = panels(len(models), sharey=True)
    for ax, model in zip(axes, models, strict=True):
        own = seeds[seeds.model_x == model]
        ends = ((at_end(own), 1.0, "-", "trained"), (at_end(own, "untrained"), 0.35, "--",
                                                     "untrained"))
        if own.epoch.nunique() == 1:  # one checkpoint (e.g. published weights): no baseline
            ends = ends[:1]
        for metric in DEPTH_METRICS:
            for rows, alpha, style, label in ends:
                part = rows[rows.metric == metric]
                if part.empty:
                    continue
                stats = fold_scores(part).groupby("depth_x").fold_score.agg(["mean", "std"])
                chance_band(ax, part, METRIC_COLOURS[metric] if label == "trained" else None)
                ax.errorbar(stats.index, stats["mean"], yerr=stats["std"].fillna(0),
                            color=METRIC_COLOURS[metric], alpha=alpha, linestyle=style,
                            marker="o", markersize=3, capsize=2, label=f"{metric} ({label})")
    return finish(fig, axes, models, f"alignment across seeds ({corr})", out)


def distribution_shift(tables: dict[str, pd.DataFrame], out, corr: str = "pearson") -> list:
    """Procrustes score across seeds vs depth: the OOD sets (mean, band ± standard error over
    sets) against the in-distribution subsets of the same sizes (solid) and the whole
    in-distribution set (dotted), a panel per architecture."""
    profile = shift_profile(tables["alignment"], corr)
    models = sorted(profile.model_x.unique())
    fig, axes = panels(len(models), sharey=True)
    for ax, model in zip(axes, models, strict=True):
        part = profile[profile.model_x == model]
        if part.id_matched.notna().any():
            ax.plot(part.depth_x, part.id_matched, "o-", color="#333333", markersize=3,
                    label="in-distribution, size-matched")
            ax.plot(part.depth_x, part["id"], ":", color="#333333", linewidth=0.8,
                    label="in-distribution, all images")
        else:
            ax.plot(part.depth_x, part["id"], "o-", color="#333333", markersize=3,
                    label="in-distribution")
        ax.plot(part.depth_x, part["ood"], "o-", color="#d95f02", markersize=3,
                label="OOD (mean over sets)")
        ax.fill_between(part.depth_x, part["ood"] - part.ood_se, part["ood"] + part.ood_se,
                        color="#d95f02", alpha=0.25)
    return finish(fig, axes, models, f"procrustes across seeds ({corr})", out)


#: Line style per family (the plan's family names).
FAMILY_STYLES = {"cnn": "-", "vit": "--", "language": ":"}


def beyond_cnns(tables: dict[str, pd.DataFrame], out, corr: str = "pearson") -> list:
    """Procrustes score across seeds vs normalised depth at the final epoch, every model in one
    panel (line style: CNN, ViT, language model) beside the same for the untrained networks;
    the paper's comparison of families (ViT, self-supervised and language models with CNNs)."""
    seeds = select(tables["alignment"], "seeds", corr, metric="procrustes")
    families = tables["models"].set_index("model").family
    fig, axes = panels(2, sharey=True)
    for ax, trained in zip(axes, (True, False), strict=True):
        for k, (model, rows) in enumerate(seeds.groupby("model_x")):
            part = at_end(rows, "trained" if trained else "untrained")
            part = part.groupby("depth_x").score.mean()
            family = families[model]
            ax.plot(part.index, part.values, FAMILY_STYLES[family], marker="o", markersize=3,
                    color=f"C{k}", label=f"{model} ({FAMILY_LABELS[family]})")
        ax.set(title="trained (final checkpoint)" if trained else "untrained (first checkpoint)",
               xlabel="normalised depth", ylim=(-0.05, 1.05))
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(f"procrustes across seeds ({corr})")
    axes[0].legend(fontsize=7, loc="lower left")
    save(fig, out)
    return axes
