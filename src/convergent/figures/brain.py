"""Networks against recorded responses: per region, the score of every layer against depth under
the region's inter-subject ceiling (the numbers from :mod:`convergent.analysis.brain`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..analysis.brain import best_layers, ceilings, layer_scores
from .base import panels, save


def brain(tables: dict[str, pd.DataFrame], out, corr: str = "pearson") -> list:
    """A panel per region (in hierarchy order): the Procrustes score of every layer of every
    network against the layer's normalised depth, a line per network; the grey band is the
    region's inter-subject score (mean ± sd over subject pairs), the ceiling a network can
    reach; the title names the region's best layer."""
    scores = layer_scores(tables, corr)
    ceiling = ceilings(tables, corr).set_index(["model_y", "index_y"])
    best = best_layers(tables, corr).set_index(["model_y", "index_y"])
    regions = scores[["model_y", "index_y", "layer_y"]].drop_duplicates().sort_values(
        ["model_y", "index_y"])
    networks = sorted(scores.model_x.unique())
    fig, axes = panels(len(regions), width=3.6, sharey=True)
    for ax, region in zip(axes, regions.itertuples(), strict=True):
        key = (region.model_y, region.index_y)
        part = scores[(scores.model_y == region.model_y) & (scores.index_y == region.index_y)]
        for k, network in enumerate(networks):
            line = part[part.model_x == network].sort_values("depth_x")
            ax.plot(line.depth_x, line.score, "o-", markersize=3, color=f"C{k}", label=network)
        if key in ceiling.index:
            mean, sd = ceiling.loc[key, ["ceiling", "ceiling_sd"]]
            sd = 0.0 if not np.isfinite(sd) else sd
            ax.axhspan(mean - sd, mean + sd, color="#999999", alpha=0.35, zorder=0)
            ax.axhline(mean, color="#666666", linewidth=0.8, label="across subjects")
        else:
            ax.text(0.5, 0.95, "no ceiling: one subject", transform=ax.transAxes,
                    ha="center", va="top", fontsize=7, color="#666666")
        top = best.loc[key]
        ax.set_title(f"{region.layer_y} ({region.model_y})\nbest: {top.model_x} {top.layer_x}",
                     fontsize=8)
        ax.set(xlabel="normalised depth of the layer",
               ylim=(min(-0.05, scores.score.min() - 0.05), 1.05))
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(f"procrustes, network vs region ({corr})")
    axes[0].legend(fontsize=7, loc="lower right")
    save(fig, out)
    return axes
