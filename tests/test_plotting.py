"""Chinese labels render with no OS font (the font comes from PyPI) and heat-map text stays readable."""

import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from rnn_course import plotting  # noqa: E402


def _draw_chinese_figures():
    """Draw the course's two plot kinds with Chinese text; warnings are errors here."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ax = plt.subplots(figsize=(6, 3.5))[1]  # a line plot as the chapters draw them
        ax.plot(np.linspace(1, 0.1, 10), label="训练损失")
        ax.set(xlabel="步数 (step)", ylabel="损失 (loss)", title="循环神经网络 −1 细胞状态")
        ax.legend()
        ax.figure.canvas.draw()
        ax2 = plotting.plot_heatmap(np.eye(3), xlabels=["我", "爱", "你"], ylabels=list("abc"), annotate=True,
                                    title="注意力权重")
        ax2.figure.canvas.draw()
    plt.close("all")


def test_font_family_is_a_fallback_list():
    cjk = plotting.use_chinese_font()
    family = matplotlib.rcParams["font.family"]
    assert family[0] == "DejaVu Sans"
    assert cjk is not None and family[1] == cjk


def test_the_pip_font_is_installed_with_the_course():
    path = plotting.bundled_cjk_font_path()
    assert path is not None, "pylopdf-fonts-zh-cn (a dependency in pyproject.toml) is not installed"
    assert path.stat().st_size > 1_000_000
    assert plotting.register_bundled_cjk_font() == plotting.BUNDLED_CJK_NAME
    from matplotlib import font_manager

    assert plotting.BUNDLED_CJK_NAME in {f.name for f in font_manager.fontManager.ttflist}


def test_chinese_labels_render_without_missing_glyphs():
    assert plotting.use_chinese_font() is not None
    _draw_chinese_figures()


def test_without_an_os_font_the_pip_font_is_used(monkeypatch):
    monkeypatch.setattr(plotting, "_os_cjk_font", lambda rescan: None)  # a machine with no OS CJK font
    assert plotting.use_chinese_font() == plotting.BUNDLED_CJK_NAME
    assert plotting.cjk_font_info()["source"] == "pip"
    _draw_chinese_figures()


def test_an_os_font_is_preferred(monkeypatch):
    monkeypatch.setattr(plotting, "_os_cjk_font", lambda rescan: "WenQuanYi Micro Hei")
    assert plotting.find_cjk_font() == "WenQuanYi Micro Hei"


def test_the_glyph_check_can_fail():
    """Without a CJK font in the list, the same drawing raises — so the tests above do test something."""
    plotting.use_chinese_font()
    matplotlib.rcParams["font.family"] = ["DejaVu Sans"]
    try:
        with pytest.raises(UserWarning, match="Glyph"):
            _draw_chinese_figures()
    finally:
        plt.close("all")
        plotting.use_chinese_font()


@pytest.mark.parametrize("cmap, low, high", [("Blues", "black", "white"), ("viridis", "white", "black")])
def test_heatmap_text_colour_follows_the_colormap(cmap, low, high):
    """ch05's confusion matrix on "Blues": small counts sit on near-white cells and need dark text."""
    matrix = np.array([[105, 163], [600, 900]])
    ax = plotting.plot_heatmap(matrix, cmap=cmap, annotate=True)
    colours = {t.get_text(): t.get_color() for t in ax.texts}
    plt.close("all")
    assert colours["105"] == low and colours["163"] == low, colours
    assert colours["900"] == high, colours


def test_text_colour_contrast():
    assert plotting.text_color_on((1, 1, 1, 1)) == "black"
    assert plotting.text_color_on((0, 0, 0, 1)) == "white"
    assert plotting.relative_luminance((1, 1, 0, 1)) == pytest.approx(0.9278, abs=1e-4)  # WCAG yellow
    assert plotting.text_color_on((0, 0, 0, 0)) == "black"  # NaN cell: transparent over a white figure
