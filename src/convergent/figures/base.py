"""What every figure shares: the colours, the panel layout, saving (the numbers they show come
from :mod:`convergent.analysis`)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from ..io import atomic_path  # noqa: E402

METRIC_COLOURS = {"linear": "#1b9e77", "procrustes": "#d95f02", "permutation": "#7570b3",
                  "softmatch": "#e7298a", "cka": "#66a61e"}


def panels(count: int, width: float = 4.2, height: float = 3.4, **kwargs):
    """A figure of ``count`` panels side by side, and the list of their axes."""
    fig, axes = plt.subplots(1, count, figsize=(width * count, height), squeeze=False, **kwargs)
    return fig, list(axes[0])


def save(fig, out: list[Path], tight: bool = True) -> None:
    """Write the figure to each path (format from the suffix), atomically, and close it."""
    if tight:
        fig.tight_layout()
    for path in out:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=Path(path).suffix.lstrip("."), dpi=130,
                        bbox_inches=None if tight else "tight")
    plt.close(fig)


def not_available(title: str, why: str, out: list[Path]) -> None:
    """A figure that says, in place of its panels, why it cannot be drawn ("n/a (why)")."""
    import textwrap

    fig, (ax,) = panels(1, width=6.4, height=2.4)
    ax.axis("off")
    ax.text(0.5, 0.5, f"{title}: n/a\n" + textwrap.fill(f"({why})", 70), ha="center",
            va="center", fontsize=9, transform=ax.transAxes)
    save(fig, out)
