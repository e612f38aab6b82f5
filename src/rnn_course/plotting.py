"""Plot helpers whose Chinese labels render on any machine (no tofu boxes, no "Glyph missing").

``font.family`` is set to a *list* — ``["DejaVu Sans", <CJK font>]`` — so matplotlib falls back
glyph by glyph: Latin letters and the minus sign come from DejaVu Sans, Chinese from the CJK font.

Which CJK font: an installed OS font first (WenQuanYi, Noto/Source Han, YaHei, PingFang … — the
learner's system look), otherwise the one the course installs from PyPI, so that a machine with no
OS Chinese font (AI Studio, a lab PC without admin rights, a conda env on a cluster, a fresh Debian)
still draws Chinese. That font is **Noto Sans SC Regular** from the ``pylopdf-fonts-zh-cn`` wheel.
Why that package (measured 2026-12, wheel sizes as downloaded from PyPI):

- ``pylopdf-fonts-zh-cn`` 0.1.1 (2026-10): 17 MB wheel; Noto Sans SC (+ Serif SC) as static OTF
  files, SIL OFL 1.1, copied unmodified from the upstream noto-cjk repository at a pinned revision
  with SHA-256 sums; no dependencies. Chosen: the smallest *correctly licensed* Simplified-Chinese font.
- ``mplfonts`` 0.0.11: popular and maintained, but an 85 MB wheel (many fonts we do not need).
- ``manimgx-fonts-cjk``: 20 MB, but one *variable* TTC (matplotlib draws only its default instance).
- ``mpl-font`` 1.1.0: 57 MB, last release 2022.
- ``paperang-p2-fonts-cjk`` 0.1.0: 2.3 MB WenQuanYi Micro Hei, but a one-off side package of a
  printer library whose metadata declares the font MIT (it is Apache-2.0/GPL-with-font-exception).
- ``chineseize-matplotlib``: ships SimHei, a proprietary font — rejected.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

CJK_CANDIDATES = (
    "WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC",
    "Microsoft YaHei", "SimHei", "PingFang SC", "Heiti SC", "Hiragino Sans GB", "Arial Unicode MS",
)

# The pip-installed fallback (a dependency in pyproject.toml): package, file inside it, family name.
BUNDLED_CJK_PACKAGE = "pylopdf_fonts_zh_cn"
BUNDLED_CJK_FILE = "NotoSansSC-Regular.otf"
BUNDLED_CJK_NAME = "Noto Sans SC"


def bundled_cjk_font_path() -> Path | None:
    """Path of the Chinese font installed from PyPI with the course, or None if it is missing."""
    import importlib.util

    spec = importlib.util.find_spec(BUNDLED_CJK_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / BUNDLED_CJK_FILE
    return path if path.is_file() else None


def _os_cjk_font(rescan: bool) -> str | None:
    """First candidate among the fonts matplotlib knows that is not our bundled file."""
    from matplotlib import font_manager

    bundled = bundled_cjk_font_path()

    def lookup():
        names = {f.name for f in font_manager.fontManager.ttflist
                 if bundled is None or Path(f.fname).resolve() != bundled.resolve()}
        return next((n for n in CJK_CANDIDATES if n in names), None)

    found = lookup()
    if found is None and rescan:  # fonts installed after the cache was built: rescan once, quietly
        import logging

        logger = logging.getLogger("matplotlib.font_manager")
        level = logger.level
        logger.setLevel(logging.WARNING)
        try:
            rebuild = getattr(font_manager, "_load_fontmanager", None)  # also refreshes the cache file
            font_manager.fontManager = rebuild(try_read_cache=False) if rebuild else font_manager.FontManager()
        finally:
            logger.setLevel(level)
        found = lookup()
    return found


def register_bundled_cjk_font() -> str | None:
    """Add the pip-installed font to matplotlib's font manager (idempotent). Returns its family name."""
    from matplotlib import font_manager

    path = bundled_cjk_font_path()
    if path is None:
        return None
    if not any(Path(f.fname).resolve() == path.resolve() for f in font_manager.fontManager.ttflist):
        font_manager.fontManager.addfont(str(path))
    return BUNDLED_CJK_NAME


def cjk_font_info() -> dict:
    """Which CJK font plots use: ``{"name", "source" ("os" | "pip" | None), "path"}`` (for ``doctor``)."""
    from matplotlib import font_manager

    name = find_cjk_font()
    if name is None:
        return {"name": None, "source": None, "path": None}
    bundled = bundled_cjk_font_path()
    paths = [Path(f.fname) for f in font_manager.fontManager.ttflist if f.name == name]
    os_paths = [p for p in paths if bundled is None or p.resolve() != bundled.resolve()]
    if os_paths:
        return {"name": name, "source": "os", "path": str(os_paths[0])}
    return {"name": name, "source": "pip", "path": str(bundled) if bundled else None}


def find_cjk_font() -> str | None:
    """Name of the CJK font plots should use: an OS font if there is one, else the pip-installed one.

    The system is rescanned (once per call) only when neither is available, i.e. when the course's
    own font dependency is missing — the old behaviour for an OS font installed after matplotlib
    built its cache.
    """
    found = _os_cjk_font(rescan=False)
    if found is None:
        found = register_bundled_cjk_font()
    if found is None:
        found = _os_cjk_font(rescan=True)
    return found


def use_chinese_font() -> str | None:
    """Apply the font list and a quiet, deterministic style. Returns the CJK font used (or None)."""
    import matplotlib

    cjk = find_cjk_font()
    matplotlib.rcParams["font.family"] = ["DejaVu Sans"] + ([cjk] if cjk else [])
    matplotlib.rcParams["axes.unicode_minus"] = True
    matplotlib.rcParams["figure.dpi"] = 80
    matplotlib.rcParams["svg.hashsalt"] = "rnn-course"
    return cjk


def relative_luminance(rgba) -> float:
    """WCAG 2 relative luminance of an sRGB colour (0 = black, 1 = white)."""
    rgb = np.asarray(rgba, dtype=float)[:3]
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    return float(linear @ np.array([0.2126, 0.7152, 0.0722]))


def text_color_on(rgba) -> str:
    """"black" or "white", whichever contrasts more with the background colour ``rgba``.

    Contrast ratios (L1 + 0.05) / (L2 + 0.05) against black and white are equal at L ≈ 0.179.
    """
    if len(rgba) > 3 and rgba[3] < 0.5:  # a masked/NaN cell is transparent: the white figure shows through
        return "black"
    return "black" if relative_luminance(rgba) > 0.179 else "white"


def plot_heatmap(matrix, xlabels=None, ylabels=None, title=None, ax=None, cmap="viridis", annotate=False,
                 xlabel=None, ylabel=None):
    """A labelled heat map (attention weights, gate activations, confusion matrices)."""
    import matplotlib.pyplot as plt

    matrix = np.asarray(matrix)
    ax = ax or plt.subplots(figsize=(6, 4))[1]
    image = ax.imshow(matrix, cmap=cmap, aspect="auto")
    if xlabels is not None:
        ax.set_xticks(range(len(xlabels)), labels=list(xlabels))
    if ylabels is not None:
        ax.set_yticks(range(len(ylabels)), labels=list(ylabels))
    if annotate:
        for (i, j), v in np.ndenumerate(matrix):
            # the cell's own colour decides: dark text on light cells, white on dark ones, for any colormap
            ax.text(j, i, f"{v:g}" if np.issubdtype(matrix.dtype, np.integer) else f"{v:.2f}",
                    ha="center", va="center", color=text_color_on(image.cmap(image.norm(v))))
    if title:
        ax.set_title(title)
    if xlabel:
        ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)
    ax.figure.colorbar(image, ax=ax)
    return ax
