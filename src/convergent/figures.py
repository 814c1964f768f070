"""The study's figures, drawn from the result tables alone (never from recomputation)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from .io import atomic_path  # noqa: E402

METRIC_COLOURS = {"linear": "#1b9e77", "procrustes": "#d95f02", "permutation": "#7570b3",
                  "softmatch": "#e7298a", "cka": "#66a61e"}


def depth_profile(alignment: pd.DataFrame, out: list[Path]) -> plt.Figure:
    """Score vs normalised depth of corresponding layers across seeds, one panel per
    architecture, one line per metric; trained (final epoch) solid, untrained (epoch 0) light.
    Points are means over seed pairs, bars their standard deviation."""
    seeds = alignment[(alignment["analysis"] == "seeds") & (alignment["corr"] == "pearson")]
    if seeds.empty:
        raise ValueError("the alignment table has no 'seeds' analysis with Pearson scores")
    models = sorted(seeds.model_x.unique())
    fig, axes = plt.subplots(1, len(models), figsize=(4.2 * len(models), 3.4), squeeze=False,
                             sharey=True)
    final = seeds.epoch.max()
    for ax, model in zip(axes[0], models, strict=True):
        for metric, colour in METRIC_COLOURS.items():
            for epoch, alpha, style in ((final, 1.0, "-"), (0, 0.35, "--")):
                part = seeds[(seeds.model_x == model) & (seeds.metric == metric)
                             & (seeds.epoch == epoch)]
                if part.empty:
                    continue
                stats = part.groupby("depth_x").score.agg(["mean", "std"]).reset_index()
                label = f"{metric} ({'trained' if epoch == final else 'untrained'})"
                ax.errorbar(stats.depth_x, stats["mean"], yerr=stats["std"].fillna(0),
                            color=colour, alpha=alpha, linestyle=style, marker="o",
                            markersize=3, capsize=2, label=label)
        ax.set_title(model)
        ax.set_xlabel("normalised depth")
        ax.set_ylim(-0.05, 1.05)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("alignment across seeds")
    axes[0][-1].legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    for path in out:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=Path(path).suffix.lstrip("."), dpi=130)
    plt.close(fig)
    return fig


FIGURES = {"depth-profile": depth_profile}
