"""The study's headline numbers, per model and across models, computed from the result tables;
``headlines.csv`` holds them and ``summary.md`` shows them beside the figures left out and the
config (numbers only: no plotting import here).

Each headline is computed for every model on that model's own training axis (its first
checkpoint is "untrained", its last "trained"), then summarised across models (``model`` =
``all``: the mean of the models' values). A number that cannot be computed has no value and a
note saying why, never an exception: any valid config gets a summary.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..errors import InputError
from ..io import atomic_path, write_table
from .brain import best_layers
from .claims import chance_test, claim_counts, rotation_test
from .cross import hierarchical_correspondence
from .depth import shift_baseline, shift_profile
from .ood import depth_correlation, ood_points
from .rotation import rotation_ranges
from .tables import DEEP, as_tables, at_end, select
from .training import first_epoch_share, training_curve

#: The columns of ``headlines.csv``.
HEADLINE_COLUMNS = ["headline", "model", "value", "note"]
#: The ``model`` of a number summarised across models.
ALL = "all"


@dataclass(frozen=True)
class Headline:
    """One headline: ``compute`` maps the tables to a value per model (NaN where that model's
    value cannot be computed, for the reason ``nan_note``)."""

    name: str
    compute: Callable[[Mapping[str, pd.DataFrame]], pd.Series]
    nan_note: str


def _depth_part(rows: pd.DataFrame, deep: bool | None) -> pd.Series:
    """Per model: the mean over layers (of the seed-pair means) in the early (depth < 0.5) or
    deep part, or over all layers (``deep`` None)."""
    per_layer = rows.groupby(["model_x", "depth_x"]).score.mean().reset_index()
    if deep is not None:
        part = per_layer.depth_x >= DEEP
        per_layer = per_layer[part if deep else ~part]
    values = per_layer.groupby("model_x").score.mean()
    return values.reindex(sorted(rows.model_x.unique()))


def training_gain(t, deep: bool, percent: bool = False) -> pd.Series:
    """Procrustes across seeds, trained minus untrained (each model's own two ends), as a
    difference or in % of the untrained score; NaN for a model with one checkpoint."""
    rows = select(t["alignment"], "seeds", metric="procrustes")
    trained = _depth_part(at_end(rows), deep)
    untrained = _depth_part(at_end(rows, "untrained"), deep)
    gain = trained - untrained
    if percent:
        gain = gain / untrained * 100
    single = rows.groupby("model_x").epoch.nunique() == 1
    return gain.where(~single.reindex(gain.index, fill_value=False))


def metric_gap(t, first: str, second: str) -> pd.Series:
    """Per model, trained: mean over layers of ``first`` minus ``second`` across seeds."""
    rows = at_end(select(t["alignment"], "seeds"))
    return (_depth_part(rows[rows.metric == first], None)
            - _depth_part(rows[rows.metric == second], None))


def ood_drop(t) -> pd.Series:
    """Deep layers: in-distribution (the size-matched subsets where scored) minus mean OOD
    procrustes score across seeds."""
    profile = shift_profile(t["alignment"])
    gap = profile.assign(score=shift_baseline(profile) - profile["ood"]).dropna(subset=["score"])
    return _depth_part(gap, deep=True)


def deepest_ood_correlation(t) -> pd.Series:
    """Correlation of alignment with OOD accuracy at each model's deepest layer."""
    r = depth_correlation(ood_points(t))
    return r.loc[r.groupby("model_x").index_x.idxmax()].set_index("model_x").r


def counterpart_share(t) -> pd.Series:
    """Per model pair: the share of layers best matched by their counterpart (procrustes)."""
    shares = hierarchical_correspondence(t["alignment"]).query("metric == 'procrustes'")
    if shares.empty:
        raise InputError("the cross analysis has no procrustes rows")
    names = [x if x == y else f"{x} vs {y}" for x, y in zip(shares.model_x, shares.model_y,
                                                          strict=True)]
    return pd.Series(shares.share.to_numpy(), index=names)


def epoch_one_share(t) -> pd.Series:
    """Per model: the share of the final alignment reached after epoch 1 (mean over layer
    groups)."""
    return first_epoch_share(training_curve(t), t).groupby("model_x").share.mean()


def rotation_change(t) -> pd.Series:
    """Per model: the largest drop of the permutation score under rotation over layers, %."""
    return rotation_ranges(t["alignment"]).set_index("model").change_pct_max


def significant_share(tests: pd.DataFrame, draws_note: str) -> pd.DataFrame:
    """Per model: the share of its tested layers with a significant (Holm 0.05) result, the
    counts in the note."""
    counts = claim_counts(tests).set_index("model")
    draws = tests.groupby("model").null_draws.min()
    notes = [f"{int(row.significant)} of {int(row.layers)} layers; {draws_note}, K = "
             f"{int(draws[model])}" for model, row in counts.iterrows()]
    return pd.DataFrame({"value": (counts.significant / counts.layers).to_numpy(dtype=float),
                         "note": notes}, index=counts.index)


def above_chance(t) -> pd.DataFrame:
    """Per model, trained: the layers whose permutation score across seeds beats the
    stimulus-shuffle null."""
    return significant_share(chance_test(t["alignment"]), "stimulus shuffles")


def rotation_loss(t, end: str) -> pd.DataFrame:
    """Per model at one end of its axis: the layers whose permutation score drops under
    rotation."""
    return significant_share(rotation_test(t["alignment"], end), "Haar rotations")


def _region(best: pd.DataFrame) -> pd.Index:
    return pd.Index([f"{m}:{r}" for m, r in zip(best.model_y, best.layer_y, strict=True)])


def brain_best_layer(t) -> pd.DataFrame:
    """Per recorded region: the best network layer's Procrustes score, the layer in the note."""
    best = best_layers(t)
    notes = [f"best layer: {net} {layer} (depth {depth:.2f})" for net, layer, depth in
             zip(best.model_x, best.layer_x, best.depth_x, strict=True)]
    return pd.DataFrame({"value": best.score.to_numpy(), "note": notes}, index=_region(best))


def brain_relative(t) -> pd.DataFrame:
    """Per recorded region: the best layer's score over the region's inter-subject ceiling."""
    best = best_layers(t)
    notes = [f"ceiling {c:.3f} over {int(n)} subject pairs" if n == n else ""
             for c, n in zip(best.ceiling, best.pairs, strict=True)]
    return pd.DataFrame({"value": best.relative.to_numpy(), "note": notes}, index=_region(best))


ONE_CHECKPOINT = "one checkpoint only: untrained and trained coincide"
HEADLINES = [
    Headline("procrustes gain from training, early layers (depth < 0.5)",
             lambda t: training_gain(t, deep=False), ONE_CHECKPOINT),
    Headline("procrustes gain from training, early layers, % of untrained",
             lambda t: training_gain(t, deep=False, percent=True), ONE_CHECKPOINT),
    Headline("procrustes gain from training, deep layers (depth ≥ 0.5)",
             lambda t: training_gain(t, deep=True), ONE_CHECKPOINT),
    Headline("procrustes gain from training, deep layers, % of untrained",
             lambda t: training_gain(t, deep=True, percent=True), ONE_CHECKPOINT),
    Headline("linear − procrustes (trained, mean over layers)",
             lambda t: metric_gap(t, "linear", "procrustes"),
             "the seeds analysis lacks one of the two metrics for this model"),
    Headline("procrustes − permutation (trained, mean over layers)",
             lambda t: metric_gap(t, "procrustes", "permutation"),
             "the seeds analysis lacks one of the two metrics for this model"),
    Headline("deep-layer drop under OOD (size-matched in-distribution − OOD procrustes)",
             ood_drop,
             "no deep layer scored both in distribution and on an OOD set"),
    Headline("correlation of alignment with OOD accuracy, deepest layer",
             deepest_ood_correlation,
             "fewer than three (set, seed pair) points with an accuracy, or no spread"),
    Headline("share of layers best matched by their counterpart (cross, procrustes)",
             counterpart_share, "no layer of the pair has a finite score"),
    Headline("share of the final alignment reached after epoch 1 (procrustes)",
             epoch_one_share, "the model's axis has no epoch 1"),
    Headline("change of the permutation score under rotation, % (max over layers)",
             rotation_change, "a rotated score of zero"),
    Headline("share of layers with permutation above chance (Holm 0.05, trained)",
             above_chance, "no layer was tested"),
    Headline("share of layers losing permutation score under rotation (Holm 0.05, trained)",
             lambda t: rotation_loss(t, "trained"), "no layer was tested"),
    Headline("share of layers losing permutation score under rotation (Holm 0.05, "
             "untrained control)", lambda t: rotation_loss(t, "untrained"),
             "no layer was tested"),
    Headline("brain: the best network layer's procrustes score, per region", brain_best_layer,
             "no finite score"),
    Headline("brain: the best layer's score relative to the inter-subject ceiling",
             brain_relative, "one subject only: no inter-subject ceiling"),
]


def _rows(headline: Headline, tables) -> list[dict]:
    try:
        result = headline.compute(tables)
    except (InputError, KeyError, ValueError) as err:
        return [dict(headline=headline.name, model=ALL, value=math.nan, note=f"n/a ({err})")]
    # a Series of values, or a frame of values with a note each (e.g. which layer is best)
    values = (result.value if isinstance(result, pd.DataFrame) else result).astype(float)
    notes = result.note if isinstance(result, pd.DataFrame) else pd.Series("", values.index)
    rows = [dict(headline=headline.name, model=str(model), value=value,
                 note=notes[model] if math.isfinite(value) else f"n/a ({headline.nan_note})")
            for model, value in values.items()]
    finite = values[values.map(math.isfinite)]
    rows.append(dict(headline=headline.name, model=ALL,
                     value=float(finite.mean()) if len(finite) else math.nan,
                     note=(f"mean over {len(finite)} of {len(values)}" if len(finite)
                           else f"n/a (no model gives it: {headline.nan_note})")))
    return rows


def headline_table(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Every headline per model and across models (columns :data:`HEADLINE_COLUMNS`)."""
    tables = as_tables(tables)
    rows = [row for headline in HEADLINES for row in _rows(headline, tables)]
    return pd.DataFrame(rows, columns=HEADLINE_COLUMNS)


def _shown(row) -> str:
    value = "" if not math.isfinite(row.value) else f"{row.value:+.3f}"
    return f"| {row.headline} | {row.model} | {value} | {row.note} |"


def write_summary(tables: Mapping[str, pd.DataFrame], path: str | Path,
                  left_out: Mapping[str, str] | None = None, config: Mapping | None = None,
                  headlines: str | Path | None = None) -> str:
    """Write ``summary.md`` (the headline table, the figures left out and why, the config the
    results come from) and, when ``headlines`` is given, the headline table as CSV there."""
    table = headline_table(tables)
    lines = ["# Summary", "", "Each model on its own training axis; `all` is the mean over the "
             "models that give the number.", "", "| headline | model | value | note |",
             "|---|---|---|---|"]
    lines += [_shown(row) for row in table.itertuples()]
    if left_out:
        lines += ["", "## Figures left out", ""]
        lines += [f"- `{name}`: {why}" for name, why in sorted(left_out.items())]
    if config is not None:
        import yaml

        lines += ["", "## Config", "", "```yaml", yaml.safe_dump(dict(config), sort_keys=False)
                  .rstrip(), "```"]
    text = "\n".join(lines) + "\n"
    if headlines is not None:
        write_table(table, headlines)
    with atomic_path(path) as tmp:
        Path(tmp).write_text(text)
    return text
