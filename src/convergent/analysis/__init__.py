"""The result tables turned into numbers: the selections, statistics and headline numbers the
figures and ``summary.md`` show. Nothing here draws, so nothing here imports matplotlib; the
figures (:mod:`convergent.figures`) import what they plot from these modules.

- :mod:`.tables`: reading the tables from the files given, selections, standard error;
- :mod:`.depth`, :mod:`.ood`, :mod:`.training`, :mod:`.rotation`, :mod:`.cross`: one module per
  analysis the figures show;
- :mod:`.claims`: the study's claims as tests (above chance, privileged basis), Holm-corrected;
- :mod:`.summary`: the headline numbers and ``summary.md``.
"""

from .claims import chance_test, claim_counts, holm, rotation_test
from .cross import best_match_share, counterpart, hierarchical_correspondence, score_matrix
from .depth import shift_profile
from .ood import depth_correlation, ood_points
from .rotation import rotation_pairs, rotation_ranges, rotation_table
from .summary import headline_table, write_summary
from .tables import (
    DEEP,
    Tables,
    at_end,
    fold_scores,
    layer_group,
    load_tables,
    select,
    standard_error,
)
from .training import first_epoch_share, training_curve

__all__ = ["DEEP", "Tables", "best_match_share", "chance_test", "claim_counts", "counterpart",
           "depth_correlation", "at_end", "first_epoch_share", "fold_scores", "headline_table",
           "hierarchical_correspondence", "holm", "layer_group", "load_tables", "ood_points",
           "rotation_pairs", "rotation_ranges", "rotation_table", "rotation_test", "score_matrix",
           "select", "shift_profile", "standard_error", "training_curve", "write_summary"]
