"""Built slides and website work with no network: every script, stylesheet, font and figure is a
file next to the pages, referred to by a relative URL."""

import os
import re
import runpy
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from rnn_course.classroom import offline, site, slides

ROOT = Path(__file__).resolve().parents[1]
CHAPTER_01 = ROOT / "chapters" / "01_rnn_basics.ipynb"
STUDENT_01 = ROOT / "student" / "exercises" / "01_rnn_basics.ipynb"

TAG_URL = re.compile(r"<(script|link|img)\b[^>]*?\b(src|href)\s*=\s*[\"']([^\"']*)[\"']", re.I)
CSS_URL = re.compile(r"(?:url\(\s*[\"']?|@import\s+[\"'])([^\"')]+)", re.I)
REMOTE = re.compile(r"^(https?:)?//", re.I)


def remote_references(text: str, css: bool = False) -> list:
    """URLs in ``<script src>``, ``<link href>``, ``<img src>`` (or CSS ``url()``/``@import``) that need a network."""
    urls = [m.group(1) for m in CSS_URL.finditer(text)] if css else [m.group(3) for m in TAG_URL.finditer(text)]
    return [u for u in urls if REMOTE.match(u.strip())]


def missing_local_files(page: Path) -> list:
    """Relative asset URLs of ``page`` whose file does not exist (a copied folder would be broken)."""
    missing = []
    for m in TAG_URL.finditer(page.read_text(encoding="utf-8")):
        url = m.group(3).strip()
        parts = urlsplit(url)
        if not url or parts.scheme or url.startswith(("//", "#")) or m.group(1).lower() == "link" and \
                not re.search(r"rel=[\"']?(stylesheet|icon)", m.group(0)):
            continue
        if url.startswith("/"):
            missing.append(f"{url} (absolute path)")
        elif not (page.parent / unquote(parts.path)).is_file():
            missing.append(url)
    return missing


def built_files(folder: Path, suffix: str) -> list:
    """The built files; ``_static/*.html`` are theme templates (Jinja source), not pages."""
    return sorted(p for p in folder.rglob(f"*{suffix}") if not (suffix == ".html" and "_static" in p.parts))


@pytest.fixture(scope="module")
def slides_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("slides")
    slides.build_slides([CHAPTER_01], out)
    return out


@pytest.fixture(scope="module")
def site_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("site") / "site"
    env = os.environ.pop("RNN_COURSE_MATHJAX", None)
    try:
        site.build_site(out, ROOT / "docs" / "site", [CHAPTER_01], [STUDENT_01], extra_docs=())
    finally:
        if env is not None:
            os.environ["RNN_COURSE_MATHJAX"] = env
    return out


def test_the_checker_finds_remote_assets():
    page = ('<script src="https://unpkg.com/reveal.js"></script><link rel="stylesheet" href="//cdn.x/y.css">'
            '<script src="assets/local.js"></script><img src="http://x/y.png"><a href="https://ok.org">link</a>')
    assert remote_references(page) == ["https://unpkg.com/reveal.js", "//cdn.x/y.css", "http://x/y.png"]
    assert remote_references("@import url(https://fonts.googleapis.com/css?family=Lato);", css=True)
    assert not remote_references("src: url(./fonts/a.woff) format('woff');", css=True)


@pytest.mark.parametrize("which", ["slides", "site"])
def test_no_page_or_stylesheet_needs_the_network(which, request):
    folder = request.getfixturevalue(f"{which}_dir")
    pages = built_files(folder, ".html")
    assert pages
    bad = {str(p.relative_to(folder)): remote_references(p.read_text(encoding="utf-8")) for p in pages}
    bad.update({str(c.relative_to(folder)): remote_references(c.read_text(encoding="utf-8", errors="replace"), css=True)
                for c in built_files(folder, ".css")})
    assert not {k: v for k, v in bad.items() if v}


@pytest.mark.parametrize("which", ["slides", "site"])
def test_every_local_asset_is_there(which, request):
    folder = request.getfixturevalue(f"{which}_dir")
    broken = {str(p.relative_to(folder)): missing_local_files(p) for p in built_files(folder, ".html")}
    assert not {k: v for k, v in broken.items() if v}


def test_slides_load_reveal_mathjax_and_the_chinese_font_locally(slides_dir):
    html = (slides_dir / "01_rnn_basics.slides.html").read_text(encoding="utf-8")
    assert '<script src="assets/reveal.js/dist/reveal.js">' in html
    assert 'src="assets/mathjax/tex-chtml-full.js"' in html
    assert "hash: true" in html, "deck.html#/3 must open slide 3"
    scripts = [m.group(3) for m in TAG_URL.finditer(html) if m.group(1) == "script"]
    assert not [s for s in scripts if re.search(r"require|jquery|mermaid", s, re.I)], scripts  # came from CDNs
    assert (slides_dir / "assets" / "reveal.js" / "dist" / "reveal.js").read_text(encoding="utf-8").startswith(
        "/*!\n * reveal.js 5.")
    assert (slides_dir / "assets" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2").is_dir()
    assert (slides_dir / "assets" / "fonts" / "NotoSansSC-Regular.otf").is_file()
    assert 'src="figures/rnn_unrolled.svg"' in html and (slides_dir / "figures" / "rnn_unrolled.svg").is_file()


def test_site_uses_local_mathjax_3_and_the_chinese_font(site_dir):
    page = (site_dir / "chapters" / "01_rnn_basics.html").read_text(encoding="utf-8")
    assert re.search(r'src="\.\./_static/mathjax/tex-chtml-full\.js(\?[^"]*)?"', page)
    assert "window.MathJax" in page
    assert b'VERSION="3.2.2"' in (site_dir / "_static" / "mathjax" / "tex-chtml-full.js").read_bytes().replace(b" ", b"")
    assert "_static/fonts/cjk-font.css" in page and (site_dir / "_static" / "fonts" / "NotoSansSC-Regular.otf").is_file()
    assert re.search(r'<img [^>]*src="\.\./_images/rnn_unrolled\.svg"', page), "chapter figures are shown"


def test_mathjax_override_and_relative_path(tmp_path, monkeypatch):
    """conf.py: the local copy by default, RNN_COURSE_MATHJAX wins, nothing remote when nothing was copied."""
    conf = tmp_path / "conf.py"
    conf.write_text((ROOT / "docs" / "site" / "conf.py").read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.delenv("RNN_COURSE_MATHJAX", raising=False)
    assert "mathjax_path" not in runpy.run_path(str(conf))  # no staging assets: Sphinx's default
    offline.copy_site_assets(tmp_path / "_offline_static")
    values = runpy.run_path(str(conf))
    assert values["mathjax_path"] == "mathjax/tex-chtml-full.js" and values["html_static_path"] == ["_offline_static"]
    assert values["mathjax3_config"] and "mathjax4_config" not in values
    monkeypatch.setenv("RNN_COURSE_MATHJAX", "file:///opt/mathjax/es5/tex-chtml.js")
    assert runpy.run_path(str(conf))["mathjax_path"] == "file:///opt/mathjax/es5/tex-chtml.js"


def test_find_offline_assets_and_a_clear_error(monkeypatch, tmp_path):
    found = offline.find_offline_assets()
    assert set(found) == set(offline.SOURCES) and all(found.values()), found
    monkeypatch.setattr(offline, "_source", lambda name: None)
    with pytest.raises(offline.CourseError, match="make teach-install"):
        offline.copy_reveal(tmp_path)
