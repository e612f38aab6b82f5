"""Plot helpers whose Chinese labels render on any machine (no tofu boxes, no "Glyph missing").

``font.family`` is set to a *list* — ``["DejaVu Sans", <first CJK font found>]`` — so matplotlib
falls back glyph by glyph: Latin letters and the minus sign come from DejaVu Sans, Chinese from the
CJK font.
"""

from __future__ import annotations

import numpy as np

CJK_CANDIDATES = (
    "WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC",
    "Microsoft YaHei", "SimHei", "PingFang SC", "Heiti SC", "Hiragino Sans GB", "Arial Unicode MS",
)


def find_cjk_font() -> str | None:
    """Name of the first installed CJK font, rescanning the system if matplotlib's cache is stale."""
    from matplotlib import font_manager

    def lookup():
        names = {f.name for f in font_manager.fontManager.ttflist}
        return next((n for n in CJK_CANDIDATES if n in names), None)

    found = lookup()
    if found is None:  # fonts installed after the cache was built: rescan once, quietly
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


def use_chinese_font() -> str | None:
    """Apply the font list and a quiet, deterministic style. Returns the CJK font used (or None)."""
    import matplotlib

    cjk = find_cjk_font()
    matplotlib.rcParams["font.family"] = ["DejaVu Sans"] + ([cjk] if cjk else [])
    matplotlib.rcParams["axes.unicode_minus"] = True
    matplotlib.rcParams["figure.dpi"] = 80
    matplotlib.rcParams["svg.hashsalt"] = "rnn-course"
    return cjk


def plot_curves(curves: dict, xlabel="步数 (step)", ylabel="损失 (loss)", title=None, logy=False, ax=None,
                hline=None, hline_label=None):
    """Plot several named 1-D curves on one axis. ``curves`` maps label → values or (x, values)."""
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(6, 3.5))[1]
    for label, values in curves.items():
        if isinstance(values, tuple):
            ax.plot(values[0], values[1], label=label)
        else:
            ax.plot(np.arange(len(values)), values, label=label)
    if hline is not None:
        ax.axhline(hline, color="gray", linestyle="--", label=hline_label)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend()
    return ax


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
            ax.text(j, i, f"{v:g}" if np.issubdtype(matrix.dtype, np.integer) else f"{v:.2f}",
                    ha="center", va="center", color="white" if v < matrix.max() / 2 else "black")
    if title:
        ax.set_title(title)
    if xlabel:
        ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)
    ax.figure.colorbar(image, ax=ax)
    return ax
