"""Chinese labels render: a CJK font is found and matplotlib warns about no missing glyph."""

import shutil
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from rnn_course import plotting  # noqa: E402

HAS_FONTCONFIG = shutil.which("fc-list") is not None


def test_font_family_is_a_fallback_list():
    cjk = plotting.use_chinese_font()
    family = matplotlib.rcParams["font.family"]
    assert family[0] == "DejaVu Sans"
    if cjk:
        assert family[1] == cjk


@pytest.mark.skipif(not HAS_FONTCONFIG, reason="needs fontconfig to know whether a CJK font is installed")
def test_chinese_labels_render_without_missing_glyphs():
    import subprocess

    if not subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True).stdout.strip():
        pytest.fail("no CJK font installed: install fonts-wqy-microhei (see README)")
    assert plotting.use_chinese_font() is not None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ax = plotting.plot_curves({"训练损失": np.linspace(1, 0.1, 10)}, title="循环神经网络 −1")
        ax.figure.canvas.draw()
        ax2 = plotting.plot_heatmap(np.eye(3), xlabels=["我", "爱", "你"], ylabels=list("abc"), annotate=True)
        ax2.figure.canvas.draw()
    plt.close("all")
    assert not [w for w in caught if "Glyph" in str(w.message)], [str(w.message) for w in caught]
