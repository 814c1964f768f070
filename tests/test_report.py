"""Every caption of the report renders as reStructuredText without a warning or an error (as
Snakemake's report renders it: docutils to HTML), and every figure the workflow can draw has
one."""

import io

import docutils.core
import pytest

from convergent.plan.figures import FIGURE_NEEDS
from convergent.plan.theory import THEORY_FIGURE_NEEDS

from smk import ROOT

REPORT = ROOT / "workflow" / "report"


def problems(text: str) -> str:
    """What docutils reports, from warnings up, while rendering ``text`` to HTML."""
    stream = io.StringIO()
    docutils.core.publish_string(text, writer="html", settings_overrides={
        "warning_stream": stream, "report_level": 2, "halt_level": 5})
    return stream.getvalue()


@pytest.mark.parametrize("caption", sorted(p.name for p in REPORT.glob("*.rst")))
def test_the_caption_renders_cleanly(caption):
    assert problems((REPORT / caption).read_text()) == ""


def test_every_figure_has_a_caption():
    captions = {p.stem for p in REPORT.glob("*.rst")}
    assert not (set(FIGURE_NEEDS) | set(THEORY_FIGURE_NEEDS)) - captions
    assert {"summary", "theory_summary", "workflow"} <= captions


def test_a_substitution_in_a_caption_is_caught():
    assert "Undefined substitution referenced" in problems("movement |h(T) − h(0)| / h(0)")
