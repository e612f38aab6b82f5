"""Offline assets for the slides and the website, copied from pip packages into the output folder.

Chinese classrooms often have no or filtered internet, and CDNs are often unreachable there, so a
built deck or site loads every script, stylesheet and font from files next to it (relative URLs:
the folder works from a USB stick, ``file://`` or any web server):

- **reveal.js 5.2.0** from ``sphinx-revealjs`` (MIT; its ``_static/revealjs`` is reveal.js's ``dist``
  and ``plugin`` folders as published);
- **MathJax 3.2.2** (es5 build) from ``django-static-mathjax`` (Apache-2.0; a plain copy of the MathJax
  release, no Django needed): ``tex-chtml-full.js`` has every TeX extension built in, so nothing is
  loaded on demand; the CHTML woff fonts sit next to it;
- **Noto Sans SC** from ``pylopdf-fonts-zh-cn`` (SIL OFL 1.1, the font the plots use) as a web font
  restricted to CJK code points: a browser with no Chinese font (a fresh Linux, a kiosk) still shows
  the text; an installed system CJK font is used first (``local()``), so the file is rarely fetched.

The first two come with the ``teach`` (and ``dev``) extra; the font is a core dependency.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

from rnn_course.errors import CourseError

# name → (import package, folder or file inside it, pip distribution to install)
SOURCES = {
    "reveal.js 5.2.0": ("sphinx_revealjs", "_static/revealjs", "sphinx-revealjs"),
    "MathJax 3.2.2": ("mathjax", "static/mathjax/es5", "django-static-mathjax"),
    "Noto Sans SC web font": ("pylopdf_fonts_zh_cn", "NotoSansSC-Regular.otf", "pylopdf-fonts-zh-cn"),
}
REVEAL, MATHJAX, CJK_FONT = SOURCES

# Relative paths (from the folder the assets are copied into) that pages link to.
REVEAL_FILES = ("LICENSE", "dist/reveal.js", "dist/reveal.css", "dist/reset.css", "dist/theme/white.css",
                "dist/theme/fonts/source-sans-pro", "plugin/notes/notes.js")
MATHJAX_FILES = ("tex-chtml-full.js", "output/chtml/fonts/woff-v2", "ui", "a11y")
MATHJAX_SCRIPT = "tex-chtml-full.js"
CJK_FAMILY = "Course CJK"
CJK_CSS = "cjk-font.css"
# CJK punctuation, kana, bopomofo, ideographs (+ extension A/B…), compatibility ideographs, full-width forms
CJK_RANGES = ("U+2E80-2FDF, U+3000-303F, U+3040-30FF, U+3100-312F, U+3190-31FF, U+3400-4DBF, U+4E00-9FFF, "
              "U+F900-FAFF, U+FE30-FE4F, U+FF00-FFEF, U+20000-2FA1F")
# local() matches a font's full name or PostScript name (CSS Fonts 4), not its family: both are listed
SYSTEM_CJK = ("Noto Sans CJK SC Regular", "NotoSansCJKsc-Regular", "Noto Sans CJK SC", "Noto Sans SC Regular",
              "NotoSansSC-Regular", "Source Han Sans SC Regular", "SourceHanSansSC-Regular", "PingFang SC Regular",
              "PingFangSC-Regular", "Microsoft YaHei", "MicrosoftYaHei", "WenQuanYi Micro Hei",
              "WenQuanYiMicroHei")


def _source(name: str) -> Path | None:
    package, inner, _ = SOURCES[name]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / inner
    return path if path.exists() else None


def find_offline_assets() -> dict:
    """``{asset name: source path or None}`` — what ``rnn-course doctor`` reports."""
    return {name: _source(name) for name in SOURCES}


def require(name: str) -> Path:
    path = _source(name)
    if path is None:
        dist = SOURCES[name][2]
        raise CourseError(f"{name} is not installed (pip package {dist}): run `make teach-install` "
                          '(or pip install -e ".[teach]")')
    return path


def _copy(src: Path, dest: Path) -> None:
    """Copy a file or folder unless an identical-looking copy (same size) is already there."""
    if src.is_dir():
        for path in src.rglob("*"):
            if path.is_file():
                _copy(path, dest / path.relative_to(src))
        return
    if dest.is_file() and dest.stat().st_size == src.stat().st_size:
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src, dest)


def copy_reveal(dest) -> Path:
    """reveal.js (script, styles, the white theme and its fonts, the notes plugin) → ``dest``."""
    src, dest = require(REVEAL), Path(dest)
    for rel in REVEAL_FILES:
        _copy(src / rel, dest / rel)
    return dest


def copy_mathjax(dest) -> Path:
    """MathJax 3 (``tex-chtml-full.js`` + CHTML fonts + menu) → ``dest``; returns the script's path."""
    src, dest = require(MATHJAX), Path(dest)
    for rel in MATHJAX_FILES:
        _copy(src / rel, dest / rel)
    _copy(src.parent / "LICENSE", dest / "LICENSE")  # the licence sits next to es5/
    return dest / MATHJAX_SCRIPT


def cjk_font_css(font_url: str) -> str:
    """An ``@font-face`` for Chinese text: a system CJK font if installed, else the bundled file."""
    local = ", ".join(f'local("{n}")' for n in SYSTEM_CJK)
    return (f'@font-face {{\n  font-family: "{CJK_FAMILY}";\n  src: {local},\n'
            f'       url("{font_url}") format("opentype");\n  unicode-range: {CJK_RANGES};\n'
            "  font-display: swap;\n}\n")


def copy_cjk_font(dest) -> Path:
    """The Chinese web font and its ``@font-face`` stylesheet → ``dest``; returns the stylesheet."""
    src, dest = require(CJK_FONT), Path(dest)
    _copy(src, dest / src.name)
    css = dest / CJK_CSS
    css.write_text(cjk_font_css(src.name), encoding="utf-8")
    return css


SITE_FONT_CSS = f"""/* The course website (pydata/book theme): Chinese from "{CJK_FAMILY}" (unicode-range, see cjk-font.css) */
:root:root {{
  --pst-font-family-base: "{CJK_FAMILY}", var(--pst-font-family-base-system);
  --pst-font-family-heading: "{CJK_FAMILY}", var(--pst-font-family-base-system);
  --pst-font-family-monospace: "{CJK_FAMILY}", var(--pst-font-family-monospace-system);
}}
"""


def copy_site_assets(dest, mathjax: bool = True) -> Path:
    """MathJax (unless overridden) and the Chinese web font for the website → ``dest`` (its ``_static``)."""
    dest = Path(dest)
    if mathjax:
        copy_mathjax(dest / "mathjax")
    copy_cjk_font(dest / "fonts")
    (dest / "fonts" / "site-fonts.css").write_text(SITE_FONT_CSS, encoding="utf-8")
    return dest
