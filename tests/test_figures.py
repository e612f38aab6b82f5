"""The concept diagrams in chapters/figures/: referenced ⇔ present ⇔ generated, and reproducible.

Design: the SVG files are committed (JupyterLab, the site and the slides show them as they are) and
``rnn_course.diagrams`` draws them. Text is stored as paths, so the bytes depend on the glyph outlines of the
fonts and on matplotlib's version; each file records both in its ``Description`` metadata. When this machine
has the same fonts and matplotlib, regenerating must give the committed bytes exactly (a figure changed in
the code but not re-rendered, or edited by hand, fails). On any other machine identical bytes are not a fair
demand, so the test checks that the generator runs cleanly and writes valid SVG of the same size.
"""

import json
import re
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from rnn_course import diagrams

ROOT = Path(__file__).resolve().parents[1]
FIGURES = ROOT / "chapters" / "figures"
NOTEBOOKS = sorted((ROOT / "chapters").glob("*.ipynb")) + sorted((ROOT / "chapters" / "exercises").glob("*.ipynb"))
# markdown images ![alt](path) and HTML <img src="path">
IMAGE = re.compile(r"!\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)|<img[^>]*\ssrc=[\"']([^\"']+)[\"']")
SVG_NS = "{http://www.w3.org/2000/svg}"


def image_references():
    """(notebook, cell index, path as written) for every local image in the markdown cells."""
    refs = []
    for nb_path in NOTEBOOKS:
        for index, cell in enumerate(json.loads(nb_path.read_text(encoding="utf-8"))["cells"]):
            if cell["cell_type"] != "markdown":
                continue
            source = "".join(cell["source"])
            for match in IMAGE.finditer(source):
                target = match.group(1) or match.group(2)
                if not re.match(r"^(https?:|data:|attachment:)", target):
                    refs.append((nb_path, index, target))
    return refs


def description(svg_text: str):
    found = re.search(r"<dc:description>(.*?)</dc:description>", svg_text, re.S)
    return found.group(1) if found else None


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    """Every figure drawn afresh into a temporary folder; any warning (e.g. a missing glyph) is an error."""
    out = tmp_path_factory.mktemp("figures")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        diagrams.write_all(out)
    return out


def test_every_referenced_image_exists():
    missing = [f"{nb.relative_to(ROOT)} cell {i}: {target}" for nb, i, target in image_references()
               if not (nb.parent / target).is_file()]
    assert not missing, "images referenced but not found:\n" + "\n".join(missing)


def test_referenced_figures_come_from_the_generator():
    """A chapter may only show figures the generator draws (no hand-made files that cannot be regenerated)."""
    outside = [f"{nb.relative_to(ROOT)} cell {i}: {target}" for nb, i, target in image_references()
               if (nb.parent / target).resolve().parent == FIGURES and Path(target).stem not in diagrams.FIGURES]
    assert not outside, "\n".join(outside)


def test_figures_folder_holds_exactly_the_generated_files():
    on_disk = {p.name for p in FIGURES.iterdir()}
    expected = {f"{name}.svg" for name in diagrams.FIGURES}
    assert on_disk == expected, (f"not produced by rnn_course.diagrams: {sorted(on_disk - expected)}; "
                                 f"never rendered (run python -m rnn_course.diagrams): {sorted(expected - on_disk)}")


def test_every_figure_is_used_by_a_chapter():
    used = {Path(target).stem for nb, _, target in image_references()
            if (nb.parent / target).resolve().parent == FIGURES}
    unused = sorted(set(diagrams.FIGURES) - used)
    assert not unused, f"figures no chapter shows: {unused}"


@pytest.mark.parametrize("name", list(diagrams.FIGURES))
def test_committed_svg_needs_no_font_and_is_small(name):
    text = (FIGURES / f"{name}.svg").read_text(encoding="utf-8")
    root = ET.fromstring(text)
    assert root.tag == f"{SVG_NS}svg"
    assert root.find(f".//{SVG_NS}text") is None, "text must be stored as paths (svg.fonttype = 'path')"
    assert "font-family" not in text and "@font-face" not in text
    assert "<dc:date>" not in text, "a date in the file would change on every regeneration"
    assert len(text.encode()) < 300_000


@pytest.mark.parametrize("name", list(diagrams.FIGURES))
def test_regenerating_reproduces_the_committed_file(name, regenerated):
    committed = (FIGURES / f"{name}.svg").read_text(encoding="utf-8")
    fresh = (regenerated / f"{name}.svg").read_text(encoding="utf-8")
    fresh_root, committed_root = ET.fromstring(fresh), ET.fromstring(committed)
    assert fresh_root.get("viewBox") == committed_root.get("viewBox"), "the figure's size changed"
    assert fresh_root.find(f".//{SVG_NS}text") is None
    if description(fresh) == description(committed):  # same fonts and matplotlib: same bytes
        assert fresh == committed, (f"{name}.svg is out of date: run `python -m rnn_course.diagrams` "
                                    "and commit chapters/figures/")
    else:  # other fonts or matplotlib: the outlines differ legitimately; the generator still works
        assert len(fresh_root) > 0


def test_the_generator_is_deterministic(regenerated, tmp_path):
    """Two renderings in one environment are byte-identical (no dates, random ids or set ordering)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = diagrams.render("gru_cell", tmp_path / "gru_cell.svg")
    assert again.read_bytes() == (regenerated / "gru_cell.svg").read_bytes()
