"""Concept diagrams of the course (the SVG files in ``chapters/figures/``), drawn with matplotlib only.

Each ``draw_<name>()`` returns a :class:`matplotlib.figure.Figure`; :data:`FIGURES` maps the file name
(without ``.svg``) to its drawing function and :func:`write_all` renders every one of them.

The files must look the same everywhere, so the SVG is written with

* ``svg.fonttype = "path"`` — every glyph becomes a path: a viewer needs no font (no CJK font on the
  course site, in JupyterLab or in the slides);
* a fixed ``svg.hashsalt`` and ``Date = None`` — regenerating gives byte-identical files when the same
  fonts and matplotlib version are present. Both are recorded in the file's ``Description`` metadata, so a
  test can tell whether it should expect identical bytes (see ``tests/test_figures.py``).

Coordinates: one data unit is one inch of the figure, so sizes and font sizes can be reasoned about together
(an 11-point Chinese character is about 0.15 units wide). Regenerate with
``python -m rnn_course.diagrams [folder]`` (default ``chapters/figures``).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch, Rectangle

# --- colours: one meaning each, the same in every figure ------------------------------------------------
INK = "#222222"
GREY = "#8A8A8A"
GRAD = "#D1495B"  # gradients (backward pass)
STATE = {  # vectors flowing through the network
    "x": "#4F6D8F",  # inputs
    "h": "#C4902A",  # hidden states
    "y": "#5E8C46",  # outputs
    "c": "#2F4F6F",  # LSTM cell state
    "loss": "#B24A4A",
    "pred": "#E07B39",  # predicted values fed back
}
GATE = {  # gates and candidates: LSTM and GRU share the colours of shared roles
    "f": "#3A78C2",  # forget gate
    "i": "#3C9A5F",  # input gate
    "g": "#E0892E",  # candidate (LSTM g = c̃, GRU h̃)
    "o": "#8E5CB5",  # output gate
    "r": "#C8443F",  # reset gate
    "z": "#1F9E9A",  # update gate
}
WEIGHT = {"xh": "#4F6D8F", "hh": "#B5761B", "hy": "#5E8C46"}  # W_xh, W_hh, W_hy labels
FORWARD_DIR, BACKWARD_DIR = "#3A78C2", "#E0892E"  # bidirectional RNN directions

SIZE = 11  # default font size (points)
SMALL = 9


def light(colour: str, amount: float = 0.82) -> tuple:
    """``colour`` mixed with white (``amount`` = share of white): the fill of a box with that edge colour."""
    r, g, b = to_rgb(colour)
    return (r + (1 - r) * amount, g + (1 - g) * amount, b + (1 - b) * amount)


# --- drawing primitives (data units = inches) -------------------------------------------------------------
def canvas(width: float, height: float):
    """A white figure whose axes fill it, with data coordinates in inches."""
    fig = Figure(figsize=(width, height), facecolor="white")
    FigureCanvasAgg(fig)  # a renderer for measuring text (see ``inline``)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.set_aspect("equal")
    ax.axis("off")
    return fig, ax


def text(ax, x, y, s, size=SIZE, colour=INK, ha="center", va="center", weight="normal", bg=None, z=5):
    """A label; ``bg`` gives it an opaque background (for labels sitting on lines)."""
    bbox = dict(boxstyle="round,pad=0.12", fc=bg, ec="none") if bg else None
    return ax.text(x, y, s, fontsize=size, color=colour, ha=ha, va=va, fontweight=weight, bbox=bbox, zorder=z)


def inline(ax, x, y, parts, size=SIZE, ha="center", va="center", colour=INK):
    """Write ``parts`` one after another on one line starting (ha="left") or centred at x.

    A part is a string or a (string, colour) pair. Chinese and ``$maths$`` go in separate parts: matplotlib's
    maths renderer has no CJK fallback, plain text has.
    """
    renderer = ax.figure.canvas.get_renderer()
    to_inches = ax.figure.dpi
    items = [(p, colour) if isinstance(p, str) else p for p in parts]
    artists, widths = [], []
    for s, c in items:
        t = ax.text(0, y, s, fontsize=size, color=c, ha="left", va=va, zorder=5)
        artists.append(t)
        widths.append(t.get_window_extent(renderer).width / to_inches)
    start = x - sum(widths) / 2 if ha == "center" else x
    for t, w in zip(artists, widths, strict=True):
        t.set_x(start)
        start += w
    return sum(widths)


def box(ax, x, y, w, h, label="", edge=INK, fill=None, size=SIZE, lw=1.3, ls="-", radius=0.07, z=2,
        colour=INK):
    """A rounded box centred at (x, y); ``fill`` defaults to a light tint of ``edge``."""
    fill = light(edge) if fill is None else fill
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle=f"round,pad=0,rounding_size={radius}",
                                fc=fill, ec=edge, lw=lw, ls=ls, zorder=z))
    if label:
        text(ax, x, y, label, size=size, colour=colour, z=z + 1)


def op(ax, x, y, symbol, r=0.17, edge=INK, fill="white", size=12):
    """A pointwise operation (⊙, +, 1−, tanh) in a circle."""
    ax.add_patch(Circle((x, y), r, fc=fill, ec=edge, lw=1.3, zorder=3))
    text(ax, x, y, symbol, size=size, z=4)


def arrow(ax, start, end, colour=INK, lw=1.4, ls="-", rad=0.0, head=9, z=1):
    """An arrow from ``start`` to ``end`` (a straight line or, with ``rad``, an arc)."""
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>,head_length=0.5,head_width=0.25",
                                 mutation_scale=head * 1.6, color=colour, lw=lw, linestyle=ls,
                                 connectionstyle=f"arc3,rad={rad}", shrinkA=0, shrinkB=0, zorder=z))


def line(ax, points, colour=INK, lw=1.4, ls="-", z=1):
    """A polyline without a head."""
    xs, ys = zip(*points, strict=True)
    ax.plot(xs, ys, color=colour, lw=lw, ls=ls, zorder=z, solid_capstyle="butt", solid_joinstyle="miter")


def path(ax, points, colour=INK, lw=1.4, ls="-", z=1):
    """A polyline whose last segment ends in an arrow head."""
    if len(points) > 2:
        line(ax, points[:-1], colour, lw, ls, z)
    arrow(ax, points[-2], points[-1], colour, lw, ls, z=z)


def dot(ax, x, y, colour=INK, r=0.045):
    """A junction: the lines meeting here are joined."""
    ax.add_patch(Circle((x, y), r, fc=colour, ec=colour, zorder=3))


def legend_row(ax, x, y, entries, size=SMALL, gap=0.35):
    """A row of (kind, colour, label) legend entries, kind in {"line", "dash", "box"}, starting at x."""
    for kind, colour, label in entries:
        if kind == "box":
            ax.add_patch(Rectangle((x, y - 0.08), 0.3, 0.16, fc=light(colour), ec=colour, lw=1.2, zorder=3))
        else:
            arrow(ax, (x, y), (x + 0.3, y), colour, ls="--" if kind == "dash" else "-")
        x += 0.4
        x += inline(ax, x, y, label if isinstance(label, list) else [label], size=size, ha="left") + gap


def panel_title(ax, x, y, title, size=12):
    return text(ax, x, y, title, size=size)


# --- the figures --------------------------------------------------------------------------------------------
def draw_rnn_unrolled():
    """Folded RNN cell ↔ the same cell unrolled over t = 1…T with the same W_xh, W_hh, b_h at every step."""
    fig, ax = canvas(11.2, 4.6)
    cw, ch, yh, yx, yy = 0.78, 0.6, 2.25, 0.85, 3.65  # cell size; rows of h, x, y
    wlabel = dict(size=SMALL + 1, bg="white")

    # folded
    panel_title(ax, 1.35, 4.35, "折叠（folded）")
    box(ax, 1.2, yx, 0.62, 0.42, r"$x_t$", STATE["x"])
    box(ax, 1.2, yh, cw + 0.1, ch, r"$h_t$", STATE["h"], size=13)
    box(ax, 1.2, yy, 0.62, 0.42, r"$y_t$", STATE["y"])
    arrow(ax, (1.2, yx + 0.21), (1.2, yh - ch / 2))
    text(ax, 0.85, (yx + yh) / 2, r"$W_{xh}$", colour=WEIGHT["xh"], **wlabel)
    arrow(ax, (1.2, yh + ch / 2), (1.2, yy - 0.21))
    text(ax, 0.85, (yh + yy) / 2, r"$W_{hy}$", colour=WEIGHT["hy"], **wlabel)
    # the recurrence: h_t is fed back (one step later) into the same cell
    right = 1.2 + (cw + 0.1) / 2
    path(ax, [(right, yh + 0.12), (2.2, yh + 0.12), (2.2, yh + 0.75), (1.5, yh + 0.75), (1.5, yh + ch / 2)],
         colour=WEIGHT["hh"], lw=1.6)
    text(ax, 2.5, yh + 0.55, r"$W_{hh}$", colour=WEIGHT["hh"], **wlabel)
    text(ax, 2.6, yh + 0.22, "延迟一步", size=SMALL, colour=GREY)

    # unroll arrow
    arrow(ax, (2.75, yh - 0.45), (3.45, yh - 0.45), colour=GREY, lw=3, head=12)
    text(ax, 3.1, yh - 0.15, "展开", size=SMALL + 1, colour=GREY)
    text(ax, 3.1, yh - 0.75, "(unroll)", size=SMALL, colour=GREY)

    # unrolled
    xs = [5.1, 6.55, 8.0, 10.3]
    names = ["1", "2", "3", "T"]
    panel_title(ax, 7.2, 4.35, "沿时间展开（unrolled, t = 1 … T）")
    box(ax, 3.95, yh, 0.56, 0.46, r"$h_0$", GREY, ls="--")
    prev = 3.95 + 0.28
    for x, n in zip(xs, names, strict=True):
        box(ax, x, yx, 0.62, 0.42, rf"$x_{{{n}}}$", STATE["x"])
        box(ax, x, yh, cw, ch, rf"$h_{{{n}}}$", STATE["h"], size=13)
        box(ax, x, yy, 0.62, 0.42, rf"$y_{{{n}}}$", STATE["y"])
        arrow(ax, (x, yx + 0.21), (x, yh - ch / 2))
        text(ax, x - 0.33, (yx + yh) / 2, r"$W_{xh}$", colour=WEIGHT["xh"], **wlabel)
        arrow(ax, (x, yh + ch / 2), (x, yy - 0.21))
        text(ax, x - 0.33, (yh + yy) / 2, r"$W_{hy}$", colour=WEIGHT["hy"], **wlabel)
        if n == "T":  # the gap between step 3 and step T
            text(ax, (xs[2] + xs[3]) / 2, yh, r"$\cdots$", size=16)
            arrow(ax, (xs[2] + cw / 2, yh), (xs[2] + cw / 2 + 0.45, yh), colour=WEIGHT["hh"], lw=1.6)
            arrow(ax, (x - cw / 2 - 0.45, yh), (x - cw / 2, yh), colour=WEIGHT["hh"], lw=1.6)
            text(ax, x - cw / 2 - 0.25, yh + 0.25, r"$W_{hh}$", colour=WEIGHT["hh"], size=SMALL + 1)
        else:
            arrow(ax, (prev, yh), (x - cw / 2, yh), colour=WEIGHT["hh"], lw=1.6)
            text(ax, (prev + x - cw / 2) / 2, yh + 0.25, r"$W_{hh}$", colour=WEIGHT["hh"], size=SMALL + 1)
        prev = x + cw / 2

    inline(ax, 5.6, 0.22, ["每个时间步都用同一组参数 ", (r"$W_{xh}$", WEIGHT["xh"]), "、",
                           (r"$W_{hh}$", WEIGHT["hh"]), "、", r"$b_h$", "（", (r"$W_{hy}$", WEIGHT["hy"]), "、",
                           r"$b_y$", "）：共享权重（shared weights）；  ",
                           r"$h_t = \tanh(W_{xh}x_t + W_{hh}h_{t-1} + b_h)$"], size=SIZE)
    return fig


def _chain(ax, xs, y, cell, label_fn, w=0.5, h=0.44, colour=STATE["h"]):
    """A row of recurrent cells joined left to right; returns nothing."""
    for k, x in enumerate(xs):
        box(ax, x, y, w, h, label_fn(k), colour, size=SMALL + 1)
        if k:
            arrow(ax, (xs[k - 1] + w / 2, y), (x - w / 2, y), colour=INK)


def draw_rnn_shapes():
    """Many-to-one, many-to-many (aligned) and encoder–decoder side by side."""
    fig, ax = canvas(12.4, 4.5)
    yx, yh, yy = 1.05, 2.2, 3.3
    w, h = 0.5, 0.44

    def column(x, k, inp=None, out=None, colour=STATE["h"]):
        if inp is not None:
            box(ax, x, yx, 0.5, 0.38, inp, STATE["x"], size=SMALL + 1)
            arrow(ax, (x, yx + 0.19), (x, yh - h / 2))
        if out is not None:
            box(ax, x, yy, 0.5, 0.38, out, STATE["y"], size=SMALL + 1)
            arrow(ax, (x, yh + h / 2), (x, yy - 0.19))

    # many-to-one
    xs = [0.7, 1.5, 2.3, 3.1]
    panel_title(ax, 1.9, 4.15, "多对一（many-to-one）")
    _chain(ax, xs, yh, None, lambda k: "")
    for k, x in enumerate(xs):
        column(x, k, rf"$x_{k + 1}$", r"$\hat y$" if k == 3 else None)
    text(ax, 1.9, 0.45, "例：情感分类", size=SMALL + 1)
    text(ax, 1.9, 0.15, "只用最后一步的隐状态", size=SMALL, colour=GREY)

    ax.plot([3.7, 3.7], [0.15, 4.3], color="#DDDDDD", lw=1)
    # many-to-many, aligned
    xs = [4.3, 5.1, 5.9, 6.7]
    panel_title(ax, 5.5, 4.15, "多对多（many-to-many，对齐）")
    _chain(ax, xs, yh, None, lambda k: "")
    for k, x in enumerate(xs):
        column(x, k, rf"$x_{k + 1}$", rf"$y_{k + 1}$")
    text(ax, 5.5, 0.45, "例：语言模型、逐字标注", size=SMALL + 1)
    text(ax, 5.5, 0.15, "每一步都有输出", size=SMALL, colour=GREY)

    ax.plot([7.3, 7.3], [0.15, 4.3], color="#DDDDDD", lw=1)
    # encoder–decoder
    enc = [7.85, 8.55, 9.25]
    dec = [10.35, 11.05, 11.75]
    panel_title(ax, 9.8, 4.15, "编码器–解码器（seq2seq）")
    _chain(ax, enc, yh, None, lambda k: "", colour=STATE["x"])
    _chain(ax, dec, yh, None, lambda k: "", colour=STATE["y"])
    for k, x in enumerate(enc):
        column(x, k, rf"$x_{k + 1}$")
    dec_in = [r"$\langle$bos$\rangle$", r"$y_1$", r"$y_2$"]
    for k, x in enumerate(dec):
        column(x, k, dec_in[k], rf"$y_{k + 1}$")
    arrow(ax, (enc[-1] + w / 2, yh), (dec[0] - w / 2, yh), colour=INK, lw=2)
    text(ax, (enc[-1] + dec[0]) / 2, yh + 0.3, "上下文", size=SMALL, colour=INK)
    text(ax, 8.2, yh - 0.45, "编码器", size=SMALL, colour=STATE["x"])
    text(ax, 10.7, yh - 0.45, "解码器", size=SMALL, colour=STATE["y"])
    text(ax, 9.8, 0.45, "例：机器翻译", size=SMALL + 1)
    text(ax, 9.8, 0.15, "输入与输出的长度可以不同", size=SMALL, colour=GREY)
    return fig


def draw_bptt_graph():
    """Forward computation of a tanh RNN with per-step losses, and the gradient flowing back through h."""
    fig, ax = canvas(11.4, 5.6)
    xs = [3.0, 5.6, 8.2]
    yx, yh, yy, yl = 0.95, 2.35, 3.5, 4.6
    bw, bh = 0.64, 0.46

    box(ax, 1.0, yh, bw, bh, r"$h_0$", GREY, ls="--")
    for t, x in enumerate(xs, start=1):
        box(ax, x, yx, bw, bh - 0.06, rf"$x_{t}$", STATE["x"])
        box(ax, x, yh, bw + 0.1, bh, rf"$h_{t}$", STATE["h"], size=13)
        box(ax, x, yy, bw, bh - 0.06, rf"$y_{t}$", STATE["y"])
        box(ax, x, yl, bw, bh - 0.06, rf"$L_{t}$", STATE["loss"])
        # forward
        arrow(ax, (x, yx + 0.2), (x, yh - bh / 2))
        text(ax, x - 0.33, (yx + yh) / 2 - 0.1, r"$W_{xh}$", size=SMALL + 1, colour=WEIGHT["xh"], bg="white")
        arrow(ax, (x - 0.1, yh + bh / 2), (x - 0.1, yy - 0.2))
        text(ax, x - 0.45, (yh + yy) / 2, r"$W_{hy}$", size=SMALL + 1, colour=WEIGHT["hy"], bg="white")
        arrow(ax, (x - 0.1, yy + 0.2), (x - 0.1, yl - 0.2))
        prev = (xs[t - 2] if t > 1 else 1.0) + (bw + 0.1) / 2 - (0.05 if t == 1 else 0)
        arrow(ax, (prev, yh + 0.08), (x - (bw + 0.1) / 2, yh + 0.08))
        text(ax, (prev + x - (bw + 0.1) / 2) / 2, yh + 0.33, r"$W_{hh}$", size=SMALL + 1, colour=WEIGHT["hh"])
        # backward (gradient)
        arrow(ax, (x + 0.12, yl - 0.2), (x + 0.12, yy + 0.2), colour=GRAD, ls="--")
        arrow(ax, (x + 0.12, yy - 0.2), (x + 0.12, yh + bh / 2), colour=GRAD, ls="--")
        if t > 1:
            arrow(ax, (x - (bw + 0.1) / 2, yh - 0.1), (prev, yh - 0.1), colour=GRAD, ls="--")
    # the loss: L = L_1 + L_2 + L_3 + ...
    for a, b in zip(xs, xs[1:], strict=False):
        text(ax, (a + b) / 2, yl, "+", size=14, colour=STATE["loss"])
    text(ax, 9.3, yl, r"$+\ \cdots\ =$", size=13, colour=STATE["loss"])
    box(ax, 10.3, yl, 0.64, 0.4, r"$L$", STATE["loss"])
    text(ax, 10.3, yl + 0.45, "总损失", size=SMALL, colour=STATE["loss"])
    # the Jacobian of one step, written once
    mid = (xs[1] + xs[2]) / 2
    text(ax, mid, yh - 0.55, r"$\partial h_t/\partial h_{t-1}=\mathrm{diag}(1-h_t^2)\,W_{hh}$",
         size=SMALL + 1, colour=GRAD, bg="white")
    text(ax, 9.0, yh, r"$\cdots$", size=16)

    legend_row(ax, 0.5, 0.3, [("line", INK, "前向计算（forward）"),
                              ("dash", GRAD, "反向：梯度（gradient）沿图倒着流")])
    inline(ax, 0.5, 5.3, [r"$\delta_t=\partial L/\partial h_t$", " 来自两处：本步的输出 ", r"$y_t$",
                          "，和下一步的 ", r"$h_{t+1}$", "（红色虚线汇合于每个 ", r"$h_t$", "）"],
           size=SIZE, ha="left")
    inline(ax, 5.8, 0.3, ["共享的 ", (r"$W_{hh}$", WEIGHT["hh"]), " 在每一步都用到：它的梯度是各步贡献之和"],
           size=SMALL + 1, ha="left")
    return fig


def draw_truncated_bptt():
    """A long sequence in chunks of k steps: state values carried forward, gradients stopped at the borders."""
    fig, ax = canvas(11.6, 4.2)
    k, chunks = 4, 3
    step = 0.82
    x0, yh, yl = 0.9, 1.95, 3.25
    xs = [x0 + i * step for i in range(k * chunks)]
    for c in range(chunks):
        left, right = xs[c * k] - 0.38, xs[c * k + k - 1] + 0.38
        ax.add_patch(FancyBboxPatch((left, yh - 0.55), right - left, 1.1, boxstyle="round,pad=0,rounding_size=0.12",
                                    fc="#F4F6F9", ec="#C9D2DE", lw=1, zorder=0))
        text(ax, (left + right) / 2, yh - 0.78, f"块 {c + 1}（k = {k} 步）", size=SMALL + 1)
        mid = (left + right) / 2
        box(ax, mid, yl, 0.9, 0.4, rf"$L_{c + 1}$", STATE["loss"], size=SMALL + 1)
        for i in range(c * k, c * k + k):  # every step's output contributes to the chunk's loss
            line(ax, [(xs[i], yh + 0.22), (mid + (xs[i] - mid) * 0.25, yl - 0.2)], colour="#BBBBBB", lw=0.9)
    for i, x in enumerate(xs):
        box(ax, x, yh, 0.5, 0.42, rf"$h_{{{i + 1}}}$", STATE["h"], size=SMALL + 1)
        if i:
            arrow(ax, (xs[i - 1] + 0.25, yh + 0.06), (x - 0.25, yh + 0.06))
            if i % k:  # gradient flows back inside a chunk only
                arrow(ax, (x - 0.25, yh - 0.1), (xs[i - 1] + 0.25, yh - 0.1), colour=GRAD, ls="--", lw=1.2)
            else:  # a chunk border: value passes, gradient is cut
                bx = (xs[i - 1] + x) / 2
                line(ax, [(bx, yh - 0.42), (bx, yh + 0.42)], colour=GRAD, lw=2.2)
                text(ax, bx, yh + 0.62, "detach()", size=SMALL, colour=GRAD)
    text(ax, xs[-1] + 0.62, yh, r"$\cdots$", size=15)

    legend_row(ax, 0.5, 0.55, [("line", INK, "前向：隐状态的数值跨块传下去（有状态, stateful）"),
                               ("dash", GRAD, "反向：梯度只在块内回传，最多 k 步")])
    ax.plot([0.55, 0.55], [0.1, 0.32], color=GRAD, lw=2.2)
    inline(ax, 0.9, 0.2, ["块边界：", ("state = state.detach()", GRAD), "——保留数值，切断计算图；",
                          "长于 k 步的依赖得不到梯度信号"], size=SMALL, ha="left")
    text(ax, 5.8, 3.9, "截断 BPTT（truncated BPTT）：每块算一次损失、反向传播、更新一次参数", size=SIZE)
    return fig


def _gate(ax, x, y, fn, name, colour, w=0.66, h=0.56):
    """A gate layer: its activation (σ or tanh) and, below it, its name, in the gate's colour."""
    box(ax, x, y, w, h, "", colour)
    text(ax, x, y + 0.08, fn, size=SIZE, colour=INK)
    text(ax, x, y - 0.15, name, size=SMALL, colour=colour)


def draw_lstm_cell():
    """LSTM cell: f, i, g (= c̃), o with σ/tanh, ⊙ and +, the cell-state conveyor belt across the top."""
    fig, ax = canvas(12.6, 5.8)
    left, right, bottom, top = 1.0, 7.6, 0.75, 5.0
    ax.add_patch(FancyBboxPatch((left, bottom), right - left, top - bottom, boxstyle="round,pad=0,rounding_size=0.2",
                                fc="#FAFAFA", ec="#BBBBBB", lw=1.2, zorder=0))
    yc, ybus, ygate = 4.3, 1.35, 2.4
    gx = {"f": 2.5, "i": 3.5, "g": 4.5, "o": 5.5}

    # the cell state: a conveyor belt that only meets ⊙ and +
    line(ax, [(0.15, yc), (gx["f"] - 0.17, yc)], STATE["c"], lw=3)
    arrow(ax, (0.15, yc), (0.8, yc), STATE["c"], lw=3)
    line(ax, [(gx["f"] + 0.17, yc), (gx["g"] - 0.17, yc)], STATE["c"], lw=3)
    arrow(ax, (gx["g"] + 0.17, yc), (8.9, yc), STATE["c"], lw=3)
    text(ax, 0.35, yc + 0.3, r"$c_{t-1}$", colour=STATE["c"], size=13)
    text(ax, 8.6, yc + 0.3, r"$c_t$", colour=STATE["c"], size=13)
    op(ax, gx["f"], yc, r"$\odot$")
    op(ax, gx["g"], yc, "+", size=14)
    inline(ax, 4.3, 5.4, [("细胞状态（cell state）", STATE["c"]), "：一条只经过 ", r"$\odot$", " 和 ", "+",
                          " 的「传送带」"], size=SIZE)

    # inputs: h_{t-1} from the left, x_t from below, joined on a bus that feeds the four gate layers
    line(ax, [(0.15, ybus), (gx["o"], ybus)], STATE["h"], lw=1.8)
    arrow(ax, (0.15, ybus), (0.8, ybus), STATE["h"], lw=1.8)
    text(ax, 0.35, ybus + 0.3, r"$h_{t-1}$", colour=STATE["h"], size=13)
    line(ax, [(1.7, 0.1), (1.7, ybus)], STATE["x"], lw=1.8)
    arrow(ax, (1.7, 0.1), (1.7, 0.65), STATE["x"], lw=1.8)
    dot(ax, 1.7, ybus)
    text(ax, 1.95, 0.3, r"$x_t$", colour=STATE["x"], size=13)
    text(ax, 3.0, ybus - 0.3, r"$[h_{t-1}, x_t]$", size=SMALL + 1, colour=GREY)
    for x in gx.values():
        arrow(ax, (x, ybus), (x, ygate - 0.28), INK, lw=1.2)
        dot(ax, x, ybus)
    _gate(ax, gx["f"], ygate, r"$\sigma$", r"$f_t$", GATE["f"])
    _gate(ax, gx["i"], ygate, r"$\sigma$", r"$i_t$", GATE["i"])
    _gate(ax, gx["g"], ygate, r"$\tanh$", r"$g_t$", GATE["g"])
    _gate(ax, gx["o"], ygate, r"$\sigma$", r"$o_t$", GATE["o"])

    # f ⊙ c_{t-1}
    arrow(ax, (gx["f"], ygate + 0.28), (gx["f"], yc - 0.17), GATE["f"], lw=1.6)
    # i ⊙ g, added to the belt
    yig = 3.4
    path(ax, [(gx["i"], ygate + 0.28), (gx["i"], yig), (gx["g"] - 0.17, yig)], GATE["i"], lw=1.6)
    arrow(ax, (gx["g"], ygate + 0.28), (gx["g"], yig - 0.17), GATE["g"], lw=1.6)
    op(ax, gx["g"], yig, r"$\odot$")
    arrow(ax, (gx["g"], yig + 0.17), (gx["g"], yc - 0.17), INK, lw=1.4)
    # h_t = o ⊙ tanh(c_t)
    xh, yth, yoh = 6.6, 3.55, 2.75
    dot(ax, xh, yc, STATE["c"])
    arrow(ax, (xh, yc), (xh, yth + 0.2), STATE["c"], lw=1.6)
    box(ax, xh, yth, 0.62, 0.36, r"$\tanh$", INK, fill="white", size=SMALL + 1, radius=0.15)
    arrow(ax, (xh, yth - 0.18), (xh, yoh + 0.17), INK, lw=1.4)
    path(ax, [(gx["o"], ygate + 0.28), (gx["o"], yoh), (xh - 0.17, yoh)], GATE["o"], lw=1.6)
    op(ax, xh, yoh, r"$\odot$")
    line(ax, [(xh + 0.17, yoh), (7.2, yoh)], STATE["h"], lw=1.8)
    path(ax, [(7.2, yoh), (7.2, ybus), (8.9, ybus)], STATE["h"], lw=1.8)
    arrow(ax, (7.2, yoh), (7.2, 5.55), STATE["h"], lw=1.8)
    dot(ax, 7.2, yoh, STATE["h"])
    text(ax, 8.55, ybus + 0.3, r"$h_t$", colour=STATE["h"], size=13)
    text(ax, 7.45, 5.45, r"$h_t$", colour=STATE["h"], size=13)

    # legend and formulas
    lx = 9.25
    text(ax, lx, 5.3, "四个门层（飞桨块顺序 i, f, g, o）", size=SIZE, ha="left")
    rows = [("f", r"$f_t$", "遗忘门（forget gate）"), ("i", r"$i_t$", "输入门（input gate）"),
            ("g", r"$g_t=\tilde c_t$", "候选值（candidate）"), ("o", r"$o_t$", "输出门（output gate）")]
    for k, (g, sym, name) in enumerate(rows):
        y = 4.75 - k * 0.42
        ax.add_patch(Rectangle((lx, y - 0.1), 0.3, 0.2, fc=light(GATE[g]), ec=GATE[g], lw=1.2))
        inline(ax, lx + 0.4, y, [(sym, GATE[g]), " ", name], size=SMALL + 1, ha="left")
    formulas = [r"$f_t, i_t, o_t = \sigma(\cdot),\ \ g_t = \tanh(\cdot)$",
                r"$(\cdot) = x_t W_{ih}^\top + b_{ih} + h_{t-1} W_{hh}^\top + b_{hh}$",
                r"$c_t = f_t\odot c_{t-1} + i_t\odot g_t$",
                r"$h_t = o_t\odot\tanh(c_t)$"]
    for f, y in zip(formulas, (2.85, 2.45, 1.7, 1.3), strict=True):
        text(ax, lx, y, f, size=SMALL + 1, ha="left")
    text(ax, lx, 2.15, "（每个门用 4 块权重中自己的那一块）", size=SMALL, ha="left", colour=GREY)
    inline(ax, lx, 0.9, [r"$\sigma$", " = sigmoid；", r"$\odot$", " = 逐元素相乘"], size=SMALL + 1, ha="left")
    return fig


def draw_stacked_bidirectional():
    """Left: a 2-layer stacked RNN. Right: a bidirectional RNN, with the next-token caveat."""
    fig, ax = canvas(12.4, 5.6)
    w, h = 0.62, 0.46

    # stacked
    panel_title(ax, 3.0, 5.3, "多层（stacked）RNN：2 层")
    xs = [1.7, 2.8, 3.9, 5.0]
    yx, y1, y2, yo = 1.65, 2.7, 3.7, 4.65
    text(ax, 0.55, y1, "第 1 层", size=SMALL + 1)
    text(ax, 0.55, y2, "第 2 层", size=SMALL + 1)
    for t, x in enumerate(xs, start=1):
        box(ax, x, yx, 0.5, 0.38, rf"$x_{t}$", STATE["x"], size=SMALL + 1)
        box(ax, x, y1, w, h, rf"$h^{{(1)}}_{t}$", STATE["h"], size=SMALL + 1)
        box(ax, x, y2, w, h, rf"$h^{{(2)}}_{t}$", STATE["h"], size=SMALL + 1)
        box(ax, x, yo, 0.5, 0.38, rf"$y_{t}$", STATE["y"], size=SMALL + 1)
        arrow(ax, (x, yx + 0.19), (x, y1 - h / 2))
        arrow(ax, (x, y1 + h / 2), (x, y2 - h / 2))
        arrow(ax, (x, y2 + h / 2), (x, yo - 0.19))
        if t > 1:
            arrow(ax, (xs[t - 2] + w / 2, y1), (x - w / 2, y1))
            arrow(ax, (xs[t - 2] + w / 2, y2), (x - w / 2, y2))
    text(ax, 3.35, 1.05, "第 1 层的输出序列就是第 2 层的输入序列", size=SMALL + 1, colour=GREY)
    text(ax, 3.35, 0.7, "飞桨：num_layers=2", size=SMALL, colour=GREY)

    ax.plot([6.0, 6.0], [0.4, 5.45], color="#DDDDDD", lw=1)
    # bidirectional
    panel_title(ax, 9.2, 5.3, "双向（bidirectional）RNN")
    xs = [7.4, 8.65, 9.9, 11.15]
    yf, yb = 2.6, 3.6
    text(ax, 6.55, yf, "前向", size=SMALL + 1, colour=FORWARD_DIR)
    text(ax, 6.55, yb, "反向", size=SMALL + 1, colour=BACKWARD_DIR)
    for t, x in enumerate(xs, start=1):
        box(ax, x, yx, 0.5, 0.38, rf"$x_{t}$", STATE["x"], size=SMALL + 1)
        box(ax, x - 0.1, yf, w, h, rf"$\overrightarrow{{h}}_{t}$", FORWARD_DIR, size=SMALL + 1)
        box(ax, x + 0.1, yb, w, h, rf"$\overleftarrow{{h}}_{t}$", BACKWARD_DIR, size=SMALL + 1)
        box(ax, x, yo, 0.95, 0.42, rf"$[\overrightarrow{{h}}_{t};\overleftarrow{{h}}_{t}]$", STATE["y"],
            size=SMALL)
        arrow(ax, (x - 0.1, yx + 0.19), (x - 0.1, yf - h / 2), lw=1.2)  # x_t → forward
        path(ax, [(x + 0.15, yx + 0.19), (x + 0.15, yx + 0.42), (x + 0.32, yx + 0.42),
                  (x + 0.32, yb - h / 2)], lw=1.2)  # x_t → backward, passing right of the forward cell
        path(ax, [(x - 0.1, yf + h / 2), (x - 0.1, yf + 0.38), (x - 0.32, yf + 0.38), (x - 0.32, yo - 0.21)],
             colour=FORWARD_DIR, lw=1.2)
        arrow(ax, (x + 0.1, yb + h / 2), (x + 0.1, yo - 0.21), colour=BACKWARD_DIR, lw=1.2)
        if t > 1:
            arrow(ax, (xs[t - 2] - 0.1 + w / 2, yf), (x - 0.1 - w / 2, yf), colour=FORWARD_DIR, lw=1.6)
            arrow(ax, (x + 0.1 - w / 2, yb), (xs[t - 2] + 0.1 + w / 2, yb), colour=BACKWARD_DIR, lw=1.6)
    text(ax, 9.25, 1.1, "输出把两个方向拼接：(B, T, 2H)；飞桨：direction=\"bidirect\"", size=SMALL, colour=GREY)

    # the caveat
    ax.add_patch(FancyBboxPatch((6.25, 0.05), 6.05, 0.8, boxstyle="round,pad=0,rounding_size=0.08",
                                fc="#FDECEC", ec=GRAD, lw=1.2, zorder=1))
    inline(ax, 9.27, 0.62, ["注意：反向链在第 t 步已经读过 ", r"$x_{t+1},\dots,x_T$", "（看见了未来），"], size=SMALL + 1)
    text(ax, 9.27, 0.28, "所以不能用来预测下一个词元；适合整句已知的任务：分类、标注、编码器", size=SMALL + 1)
    return fig


def draw_gru_cell():
    """GRU cell in Paddle's form (reset-after), h_t = z⊙h_{t-1} + (1−z)⊙h̃, and an inset: reset-before vs after."""
    fig, ax = canvas(12.8, 6.0)
    left, right, bottom, top = 0.9, 7.3, 0.95, 5.0
    ax.add_patch(FancyBboxPatch((left, bottom), right - left, top - bottom, boxstyle="round,pad=0,rounding_size=0.2",
                                fc="#FAFAFA", ec="#BBBBBB", lw=1.2, zorder=0))
    ytop, yh, yx, ygate = 4.4, 1.65, 1.2, 2.45
    xz, xr, xw, xc = 2.4, 3.4, 4.5, 5.6

    # the state line: h_{t-1} → ⊙ z → + → h_t
    line(ax, [(0.15, ytop), (xz - 0.17, ytop)], STATE["h"], lw=3)
    line(ax, [(xz + 0.17, ytop), (xc - 0.17, ytop)], STATE["h"], lw=3)
    arrow(ax, (xc + 0.17, ytop), (7.65, ytop), STATE["h"], lw=3)
    arrow(ax, (0.15, ytop), (0.75, ytop), STATE["h"], lw=3)
    text(ax, 0.4, ytop + 0.3, r"$h_{t-1}$", colour=STATE["h"], size=13)
    text(ax, 7.45, ytop + 0.3, r"$h_t$", colour=STATE["h"], size=13)
    op(ax, xz, ytop, r"$\odot$")
    op(ax, xc, ytop, "+", size=14)

    # h_{t-1} drops to its own line, x_t comes in on a line below
    line(ax, [(1.3, ytop), (1.3, yh), (xw, yh)], STATE["h"], lw=1.6)
    dot(ax, 1.3, ytop, STATE["h"])
    line(ax, [(0.15, yx), (xc, yx)], STATE["x"], lw=1.6)
    arrow(ax, (0.15, yx), (0.75, yx), STATE["x"], lw=1.6)
    text(ax, 0.4, yx - 0.28, r"$x_t$", colour=STATE["x"], size=13)
    # the gates read both lines (dots = joined)
    for x in (xz, xr):
        dot(ax, x, yx, STATE["x"])
        dot(ax, x, yh, STATE["h"])
        arrow(ax, (x, yx), (x, ygate - 0.28), INK, lw=1.2)
    _gate(ax, xz, ygate, r"$\sigma$", r"$z_t$", GATE["z"])
    _gate(ax, xr, ygate, r"$\sigma$", r"$r_t$", GATE["r"])

    # z ⊙ h_{t-1} on the state line, (1 − z) ⊙ h̃ added
    arrow(ax, (xz, ygate + 0.28), (xz, ytop - 0.17), GATE["z"], lw=1.6)
    ymix = 3.6
    dot(ax, xz, ymix, GATE["z"])
    arrow(ax, (xz, ymix), (3.9 - 0.2, ymix), GATE["z"], lw=1.6)
    op(ax, 3.9, ymix, "1−", r=0.2, size=SMALL + 1)
    arrow(ax, (3.9 + 0.2, ymix), (xc - 0.17, ymix), GATE["z"], lw=1.6)
    op(ax, xc, ymix, r"$\odot$")
    arrow(ax, (xc, ymix + 0.17), (xc, ytop - 0.17), INK, lw=1.4)

    # candidate, reset-after: r ⊙ (h_{t-1} W_hc^T + b_hc), plus x_t W_ic^T + b_ic, through tanh
    yw = 2.2
    arrow(ax, (xw, yh), (xw, yw - 0.22), STATE["h"], lw=1.4)
    dot(ax, xw, yh, STATE["h"])
    box(ax, xw, yw, 0.8, 0.42, r"$W_{hc},b_{hc}$", INK, fill="white", size=SMALL)
    yrr = 2.95
    arrow(ax, (xw, yw + 0.21), (xw, yrr - 0.17), INK, lw=1.4)
    path(ax, [(xr, ygate + 0.28), (xr, yrr), (xw - 0.17, yrr)], GATE["r"], lw=1.6)
    op(ax, xw, yrr, r"$\odot$")
    ycand = 2.95
    arrow(ax, (xw + 0.17, yrr), (xc - 0.33, ycand), INK, lw=1.4)
    _gate(ax, xc, ycand, r"$\tanh$", r"$\tilde h_t$", GATE["g"])
    arrow(ax, (xc, ycand + 0.28), (xc, ymix - 0.17), GATE["g"], lw=1.6)
    arrow(ax, (xc, yx), (xc, ycand - 0.28), STATE["x"], lw=1.4)
    dot(ax, xc, yx, STATE["x"])
    text(ax, xc + 0.55, 1.85, r"$x_tW_{ic}^\top$", size=SMALL, colour=STATE["x"], bg="#FAFAFA")
    text(ax, xc + 0.55, 1.55, r"$+\,b_{ic}$", size=SMALL, colour=STATE["x"], bg="#FAFAFA")

    inline(ax, 4.1, 5.55, [r"$h_t = z_t\odot h_{t-1} + (1-z_t)\odot\tilde h_t$",
                           "（飞桨约定：z 大 = 保留旧状态）"], size=SIZE)
    legend_row(ax, 0.45, 0.45, [("box", GATE["r"], [(r"$r_t$", GATE["r"]), " 重置门（reset）"]),
                                ("box", GATE["z"], [(r"$z_t$", GATE["z"]), " 更新门（update）"]),
                                ("box", GATE["g"], [(r"$\tilde h_t$", GATE["g"]), " 候选状态（candidate）"])],
               size=SMALL + 1, gap=0.25)
    text(ax, 4.1, 0.1, "飞桨 weight_ih / weight_hh 的块顺序：r, z, c（c 即候选）", size=SMALL, colour=GREY)

    # inset: where the reset gate acts
    ix0, ix1 = 7.9, 12.7
    ax.add_patch(FancyBboxPatch((ix0, 0.6), ix1 - ix0, 4.75, boxstyle="round,pad=0,rounding_size=0.15",
                                fc="white", ec=GATE["r"], lw=1.5, ls="--", zorder=0))
    text(ax, (ix0 + ix1) / 2, 5.0, "重置门作用在哪里？", size=SIZE + 1, colour=GATE["r"])

    def chain(y, items):
        """Draw h_{t-1} → ... as small boxes/ops joined by arrows; items = (kind, label, width)."""
        x = ix0 + 0.25
        prev, centres = None, []
        for kind, label, w in items:
            cx = x + w / 2
            if kind == "op":
                op(ax, cx, y, label, r=w / 2, size=SMALL + 1, edge=GATE["r"] if "odot" in label else INK)
            else:
                box(ax, cx, y, w, 0.4, label, INK, fill="white", size=SMALL)
            if prev is not None:
                arrow(ax, (prev, y), (x, y), INK, lw=1.1)
            centres.append(cx)
            prev = x + w
            x += w + 0.22
        return centres

    text(ax, ix0 + 0.2, 4.45, "先重置（reset-before）", size=SIZE, ha="left")
    text(ax, ix0 + 0.2, 4.12, "Cho 等 2014，参考文章 001 的公式", size=SMALL, ha="left", colour=GREY)
    before = chain(3.55, [("box", r"$h_{t-1}$", 0.55), ("op", r"$\odot\, r_t$", 0.5), ("box", r"$W_{hc},b_{hc}$", 0.85),
                 ("op", "+", 0.34), ("box", r"$\tanh$", 0.55), ("box", r"$\tilde h_t$", 0.45)])
    text(ax, ix0 + 0.2, 3.0, r"$\tilde h_t=\tanh(x_tW_{ic}^\top+b_{ic}+(r_t\odot h_{t-1})W_{hc}^\top+b_{hc})$",
         size=SMALL, ha="left")

    text(ax, ix0 + 0.2, 2.45, "后重置（reset-after）", size=SIZE, ha="left")
    text(ax, ix0 + 0.2, 2.12, "飞桨 / cuDNN / PyTorch，即左图", size=SMALL, ha="left", colour=GREY)
    after = chain(1.55, [("box", r"$h_{t-1}$", 0.55), ("box", r"$W_{hc},b_{hc}$", 0.85), ("op", r"$\odot\, r_t$", 0.5),
                 ("op", "+", 0.34), ("box", r"$\tanh$", 0.55), ("box", r"$\tilde h_t$", 0.45)])
    for centres, y in ((before, 3.55), (after, 1.55)):  # the input part joins at the +
        arrow(ax, (centres[3], y + 0.45), (centres[3], y + 0.17), STATE["x"], lw=1.1)
        text(ax, centres[3] + 0.05, y + 0.55, r"$x_tW_{ic}^\top+b_{ic}$", size=SMALL - 1, colour=STATE["x"])
    text(ax, ix0 + 0.2, 1.0, r"$\tilde h_t=\tanh(x_tW_{ic}^\top+b_{ic}+r_t\odot(h_{t-1}W_{hc}^\top+b_{hc}))$",
         size=SMALL, ha="left")
    return fig


def draw_char_lm_teacher_forcing():
    """Character LM: training with teacher forcing (top) vs sampling (bottom)."""
    fig, ax = canvas(11.0, 6.6)
    xs = [2.2, 3.8, 5.4, 7.0, 8.6]
    w = 0.62

    def row(y0, inputs, outputs, sampling):
        yi, yc, yo = y0, y0 + 0.85, y0 + 1.7
        text(ax, 0.75, yi, "输入", size=SMALL + 1)
        text(ax, 0.75, yc, "GRU", size=SMALL + 1)
        text(ax, 0.75, yo, "目标" if not sampling else "采样", size=SMALL + 1)
        for k, x in enumerate(xs):
            fed_back = sampling and k > 0
            box(ax, x, yi, w, 0.44, inputs[k], STATE["pred"] if fed_back else STATE["x"], size=SIZE)
            box(ax, x, yc, w + 0.1, 0.46, "", STATE["h"])
            box(ax, x, yo, w, 0.44, outputs[k], STATE["pred"] if sampling else STATE["y"], size=SIZE)
            arrow(ax, (x, yi + 0.22), (x, yc - 0.23))
            arrow(ax, (x, yc + 0.23), (x, yo - 0.22))
            if k:
                arrow(ax, (xs[k - 1] + (w + 0.1) / 2, yc), (x - (w + 0.1) / 2, yc))
            if k < len(xs) - 1:
                if sampling:  # the model's own sample becomes the next input
                    path(ax, [(x + w / 2, yo), (x + 0.8, yo), (x + 0.8, yi), (xs[k + 1] - w / 2, yi)],
                         colour=STATE["pred"], lw=1.5)
                else:  # the true next character is the next input, whatever the model predicted
                    arrow(ax, (x + w / 2 + 0.05, yo - 0.12), (xs[k + 1] - w / 2 - 0.05, yi + 0.12),
                          colour=GREY, ls="--", lw=1.1)

    text(ax, 5.4, 6.3, "训练：教师强制（teacher forcing）", size=SIZE + 1)
    text(ax, 5.4, 5.95, "每一步的输入是数据里真实的上一个字；每一步都算交叉熵，整条序列一次前向", size=SMALL + 1,
         colour=GREY)
    row(3.55, ["<pos>", "房", "间", "很", "干"], ["房", "间", "很", "干", "净"], sampling=False)
    text(ax, 10.2, 5.25, "交叉熵", size=SMALL + 1, colour=STATE["loss"])
    text(ax, 10.2, 4.95, "（目标 = 输入左移一位）", size=SMALL, colour=STATE["loss"])

    ax.plot([0.3, 10.7], [3.1, 3.1], color="#DDDDDD", lw=1)
    text(ax, 5.4, 2.8, "生成：采样（sampling）", size=SIZE + 1)
    text(ax, 5.4, 2.45, "每一步的输入是模型自己上一步采样出的字：一旦采错，后面都以错字为条件", size=SMALL + 1,
         colour=GREY)
    row(0.3, ["<pos>", "房", "间", "不", "错"], ["房", "间", "不", "错", "<eos>"], sampling=True)
    text(ax, 10.2, 2.0, "从 softmax(z/T)", size=SMALL, colour=STATE["pred"])
    text(ax, 10.2, 1.75, "（可只取 top-k）中采样", size=SMALL, colour=STATE["pred"])
    return fig


def draw_forecast_windows():
    """Sliding windows (input window → next value) and recursive multi-step forecasting."""
    fig, ax = canvas(11.8, 6.6)
    s = 0.66  # one time step
    x0 = 1.6

    def cell(i, y, label, kind):
        colour = {"real": STATE["x"], "target": STATE["y"], "pred": STATE["pred"], "plain": GREY}[kind]
        fill = "white" if kind == "plain" else None
        box(ax, x0 + i * s, y, s - 0.16, 0.38, label, colour, fill=fill, size=SMALL, radius=0.04)

    # sliding windows
    text(ax, 5.6, 6.3, "滑动窗口（sliding window）：用过去 w 个值预测下一个值（图中 w = 4）", size=SIZE + 1,
         )
    text(ax, 0.7, 5.6, "序列", size=SMALL + 1)
    for i in range(14):
        cell(i, 5.6, rf"$x_{{{i + 1}}}$", "plain")
    text(ax, x0 + 14 * s, 5.6, r"$\cdots$", size=14)
    for n in range(3):
        y = 4.95 - n * 0.55
        text(ax, 0.7, y, f"样本 {n + 1}", size=SMALL + 1)
        for i in range(n, n + 4):
            cell(i, y, rf"$x_{{{i + 1}}}$", "real")
        arrow(ax, (x0 + (n + 3) * s + 0.25, y), (x0 + (n + 4) * s - 0.25, y), lw=1.2)
        cell(n + 4, y, rf"$x_{{{n + 5}}}$", "target")
    text(ax, x0 + 8.2 * s, 4.4, "输入窗口 → 目标；窗口每次右移一步。", size=SMALL + 1, ha="left")
    text(ax, x0 + 8.2 * s, 4.1, "按目标的位置切分训练 / 验证 / 测试（不打乱）", size=SMALL + 1, ha="left")
    legend_row(ax, x0 + 8.2 * s, 3.75, [("box", STATE["x"], "输入（真实值）"), ("box", STATE["y"], "目标")],
               size=SMALL + 1)

    ax.plot([0.3, 11.1], [3.3, 3.3], color="#DDDDDD", lw=1)
    # recursive multi-step forecasting
    text(ax, 5.6, 3.0, "递归多步预测（recursive multi-step）：把预测值接到窗口末尾，再预测下一步", size=SIZE + 1,
         )
    text(ax, 0.7, 2.35, "已知", size=SMALL + 1)
    for i in range(8):
        cell(i, 2.35, rf"$x_{{{i + 1}}}$", "plain")
    text(ax, x0 + 7.5 * s, 2.72, "现在", size=SMALL, colour=GREY)
    ax.plot([x0 + 7.5 * s, x0 + 7.5 * s], [0.2, 2.6], color=GREY, lw=1, ls=":")
    for n in range(3):
        y = 1.75 - n * 0.55
        text(ax, 0.7, y, f"第 {n + 1} 步", size=SMALL + 1)
        for i in range(4 + n, 8 + n):
            if i < 8:
                cell(i, y, rf"$x_{{{i + 1}}}$", "real")
            else:
                cell(i, y, rf"$\hat x_{{{i + 1}}}$", "pred")
        arrow(ax, (x0 + (7 + n) * s + 0.25, y), (x0 + (8 + n) * s - 0.25, y), lw=1.2)
        cell(8 + n, y, rf"$\hat x_{{{9 + n}}}$", "pred")
        if n < 2:  # the prediction moves down into the next window
            arrow(ax, (x0 + (8 + n) * s, y - 0.19), (x0 + (8 + n) * s, y - 0.55 + 0.19), STATE["pred"], lw=1.2)
    text(ax, x0 + 11.6 * s, 1.5, "预测值被当作输入：", size=SMALL + 1, ha="left")
    text(ax, x0 + 11.6 * s, 1.2, "误差会一步步累积，", size=SMALL + 1, ha="left")
    text(ax, x0 + 11.6 * s, 0.9, "越远越不准", size=SMALL + 1, ha="left")
    legend_row(ax, x0 + 11.6 * s, 0.45, [("box", STATE["pred"], "模型的预测值")], size=SMALL + 1)
    return fig


def draw_seq2seq_attention():
    """Encoder (BiGRU) states, decoder state s_{t-1}, additive scores → softmax α → context c_t → decoder GRU."""
    fig, ax = canvas(12.4, 6.8)
    xs = [1.4, 2.65, 3.9, 5.15]
    src = ["我", "喜", "欢", "猫"]
    alpha = [0.08, 0.55, 0.3, 0.07]  # illustrative weights for producing "like"
    yx, yh, yq, ye, ya, yc = 0.45, 1.45, 2.2, 2.85, 3.65, 5.15
    enc = "#4F6D8F"

    # encoder
    for j, x in enumerate(xs, start=1):
        box(ax, x, yx, 0.46, 0.4, src[j - 1], STATE["x"], size=SIZE)
        arrow(ax, (x, yx + 0.2), (x, yh - 0.23))
        box(ax, x, yh, 0.62, 0.46, rf"$h_{j}$", enc, size=SIZE)
        if j > 1:
            arrow(ax, (xs[j - 2] + 0.31, yh + 0.1), (x - 0.31, yh + 0.1), FORWARD_DIR, lw=1.2)
            arrow(ax, (x - 0.31, yh - 0.1), (xs[j - 2] + 0.31, yh - 0.1), BACKWARD_DIR, lw=1.2)
    text(ax, 0.45, yh, "编码器", size=SMALL + 1, colour=enc)
    text(ax, 0.45, yx, "源句", size=SMALL + 1, colour=STATE["x"])
    inline(ax, 5.75, 1.45, ["双向 GRU：", r"$h_j=[\overrightarrow{h}_j;\overleftarrow{h}_j]$"], size=SMALL + 1,
           ha="left")

    # scores e_tj = v^T tanh(W_q s_{t-1} + W_k h_j)
    for x in xs:
        arrow(ax, (x, yh + 0.23), (x, ye - 0.2), INK, lw=1.2)
        dot(ax, x, yq, STATE["h"])
        box(ax, x, ye, 0.62, 0.4, "", GREY, fill="white", size=SMALL)
    for j, x in enumerate(xs, start=1):
        text(ax, x, ye, rf"$e_{{t{j}}}$", size=SMALL + 1)
    line(ax, [(xs[0], yq), (7.8, yq)], STATE["h"], lw=1.4)
    inline(ax, 5.75, ye, [r"$e_{tj}=v^\top\tanh(W_q s_{t-1}+W_k h_j)$", "：加性打分"], size=SMALL + 1, ha="left")

    # softmax → α (bars)
    for j, (x, a) in enumerate(zip(xs, alpha, strict=True), start=1):
        arrow(ax, (x, ye + 0.2), (x, ya - 0.02), GREY, lw=1)
        ax.add_patch(Rectangle((x - 0.2, ya), 0.4, 1.0 * a + 0.02, fc=light(GATE["o"], 0.45), ec=GATE["o"],
                               lw=1.0, zorder=2))
        text(ax, x + 0.36, ya + 0.12, rf"$\alpha_{{t{j}}}$", size=SMALL, colour=GATE["o"], ha="left")
    inline(ax, 5.75, ya + 0.25, ["softmax → 权重 ", (r"$\alpha_{tj}$", GATE["o"]), "（和为 1，补齐位置为 0）"],
           size=SMALL + 1, ha="left")

    # context c_t = Σ α_tj h_j
    cx = 3.25
    for x, a in zip(xs, alpha, strict=True):
        line(ax, [(x, ya + 1.0 * a + 0.04), (cx + (x - cx) * 0.25, yc - 0.25)], GATE["o"], lw=0.6 + 4 * a)
    box(ax, cx, yc, 1.6, 0.5, "", GATE["o"])
    text(ax, cx, yc, r"$c_t=\sum_j \alpha_{tj}h_j$", size=SIZE)
    text(ax, cx, yc + 0.45, "上下文向量（context）", size=SMALL + 1, colour=GATE["o"])

    # decoder step
    dx = 9.6
    box(ax, 8.45, yq, 0.9, 0.46, r"$s_{t-1}$", STATE["h"], size=SIZE)
    text(ax, 8.45, yq - 0.42, "解码器上一步的状态（查询）", size=SMALL, colour=STATE["h"])
    box(ax, dx, yc, 1.1, 0.6, "GRU", STATE["y"], size=SIZE)
    text(ax, dx + 0.65, yc + 0.05, "解码器", size=SMALL + 1, colour=STATE["y"], ha="left")
    arrow(ax, (cx + 0.8, yc), (dx - 0.55, yc), GATE["o"], lw=1.6)
    path(ax, [(8.45, yq + 0.23), (8.45, yc - 0.12), (dx - 0.55, yc - 0.12)], STATE["h"], lw=1.4)
    box(ax, 11.35, 3.6, 1.3, 0.44, r"$y_{t-1}$ = “I”", STATE["x"], size=SMALL + 1)
    text(ax, 11.35, 3.2, "上一个输出词元", size=SMALL, colour=STATE["x"])
    path(ax, [(11.35, 3.82), (11.35, 4.4), (dx + 0.2, 4.4), (dx + 0.2, yc - 0.3)], STATE["x"], lw=1.4)
    # output
    box(ax, dx, 6.2, 3.25, 0.46, "", INK, fill="white")
    inline(ax, dx, 6.2, [r"$[s_t;\,c_t;\,\mathrm{emb}(y_{t-1})]$", " → 读出层（tanh）→ softmax"], size=SMALL)
    arrow(ax, (dx, yc + 0.3), (dx, 6.2 - 0.23))
    text(ax, dx + 0.2, 5.7, r"$s_t$", size=SMALL + 1, ha="left", colour=STATE["h"])
    box(ax, 11.85, 6.2, 0.95, 0.44, r"$y_t$ = “like”", STATE["y"], size=SMALL + 1)
    arrow(ax, (dx + 1.625, 6.2), (11.85 - 0.475, 6.2))
    inline(ax, 0.3, 6.45, ["每个解码步 t：用 ", (r"$s_{t-1}$", STATE["h"]), " 给每个 ", (r"$h_j$", enc),
                           " 打分 → softmax → 加权平均得到 ", (r"$c_t$", GATE["o"])], size=SIZE, ha="left")
    return fig


def draw_text_to_tensor():
    """text → tokens → ids (vocabulary) → padded batch + lengths → embedding lookup (= one-hot × E)."""
    fig, ax = canvas(12.6, 6.4)
    texts = ["房间很干净", "太吵了"]
    vocab = {"<pad>": 0, "<unk>": 1, "房": 57, "间": 12, "很": 8, "干": 203, "净": 311, "太": 24, "吵": 950,
             "了": 3}
    ids = [[vocab[c] for c in t] for t in texts]
    T = max(len(t) for t in texts)

    def stage(x, title, sub):
        text(ax, x, 6.1, title, size=SIZE)
        text(ax, x, 5.78, sub, size=SMALL, colour=GREY)

    # 1 text
    stage(1.0, "文本", "（一批评论）")
    for r, t in enumerate(texts):
        box(ax, 1.0, 4.9 - r * 0.75, 1.45, 0.46, t, STATE["x"], fill="white", size=SIZE)
    arrow(ax, (1.85, 4.55), (2.35, 4.55), GREY, lw=2)
    # 2 tokens (characters)
    stage(3.55, "① 切成词元（token）", "按字切；也可以按词（jieba）")
    for r, t in enumerate(texts):
        for c, ch in enumerate(t):
            box(ax, 2.65 + c * 0.44, 4.9 - r * 0.75, 0.38, 0.4, ch, STATE["x"], size=SIZE, radius=0.04)
    arrow(ax, (4.85, 4.55), (5.35, 4.55), GREY, lw=2)
    # 3 ids via vocabulary
    stage(7.2, "② 查词表（vocabulary）→ 编号", "未登录的字 → <unk>；编号为示意")
    for r, row in enumerate(ids):
        for c, i in enumerate(row):
            box(ax, 5.75 + c * 0.5, 4.9 - r * 0.75, 0.44, 0.4, str(i), STATE["h"], size=SMALL + 1, radius=0.04)
    table = [("<pad>", 0), ("<unk>", 1), ("房", 57), ("间", 12), ("…", "…")]
    tx = 8.75
    text(ax, tx + 0.55, 5.45, "词表", size=SMALL + 1)
    for r, (tok, i) in enumerate(table):
        y = 5.1 - r * 0.3
        box(ax, tx + 0.3, y, 0.6, 0.28, tok, GREY, fill="white", size=SMALL, radius=0.02)
        box(ax, tx + 0.85, y, 0.5, 0.28, str(i), GREY, fill="white", size=SMALL, radius=0.02)
    # 4 padding
    ax.plot([0.3, 12.3], [3.25, 3.25], color="#DDDDDD", lw=1)
    path(ax, [(7.2, 4.1), (7.2, 3.45), (2.6, 3.45), (2.6, 3.05)], GREY, lw=2)
    text(ax, 2.6, 2.85, "③ 补齐：右侧补 <pad> = 0，记下真实长度", size=SIZE)
    x4 = 0.9
    for r in range(2):
        for c in range(T):
            value = ids[r][c] if c < len(ids[r]) else 0
            pad = c >= len(ids[r])
            box(ax, x4 + c * 0.5, 2.15 - r * 0.5, 0.44, 0.4, str(value), GREY if pad else STATE["h"],
                size=SMALL + 1, radius=0.04, ls="--" if pad else "-")
        text(ax, x4 + T * 0.5 + 0.35, 2.15 - r * 0.5, str(len(ids[r])), size=SMALL + 1)
    text(ax, x4 + 1.0, 1.25, "批（batch）形状 (B, T) = (2, 5)", size=SMALL + 1)
    text(ax, x4 + T * 0.5 + 0.35, 2.55, "lengths", size=SMALL, colour=GREY)
    text(ax, 2.6, 0.85, "lengths 交给 sequence_length：", size=SMALL, colour=GREY)
    text(ax, 2.6, 0.58, "超出真实长度的输出为 0，最终状态取真实的最后一步", size=SMALL, colour=GREY)
    arrow(ax, (4.6, 1.9), (5.3, 1.9), GREY, lw=2)
    # 5 embedding lookup
    text(ax, 8.7, 2.85, "④ 嵌入（embedding）：按编号取矩阵 E 的一行", size=SIZE)
    ex, ey = 5.6, 2.3  # one-hot row
    onehot = ["0"] * 6 + ["1"] + ["0"] * 2
    for k, v in enumerate(onehot):
        box(ax, ex + k * 0.22, ey, 0.2, 0.3, v, GATE["o"] if v == "1" else GREY,
            fill=light(GATE["o"], 0.5) if v == "1" else "white", size=7, radius=0.02, lw=0.8)
    text(ax, ex + 0.9, ey - 0.35, "one-hot(57)：长 V", size=SMALL, colour=GREY)
    text(ax, ex + 2.15, ey, r"$\times$", size=14)
    mx, my = 8.1, 1.55  # E: V × d, drawn as rows
    for k in range(9):
        y = my + 1.0 - k * 0.14
        hit = k == 6
        ax.add_patch(Rectangle((mx, y), 1.1, 0.12, fc=light(GATE["o"], 0.5) if hit else "#F1F1F1",
                               ec=GATE["o"] if hit else "#CCCCCC", lw=1.0 if hit else 0.6, zorder=2))
    text(ax, mx + 0.55, my - 0.3, "矩阵 E：(V, d)", size=SMALL + 1)
    text(ax, mx + 1.25, my + 0.19, "第 57 行", size=SMALL, colour=GATE["o"], ha="left")
    text(ax, 10.25, ey, "=", size=14)
    for k in range(6):
        box(ax, 10.6 + k * 0.22, ey, 0.2, 0.3, "", GATE["o"], fill=light(GATE["o"], 0.5), radius=0.02, lw=0.8)
    text(ax, 11.15, ey - 0.35, r"$e_t=E[57]$", size=SMALL + 1, colour=GATE["o"])
    text(ax, 8.7, 0.85, "对每个编号都这样取一行：(B, T) → (B, T, d)", size=SMALL + 1)
    text(ax, 8.7, 0.55, "等价于 one-hot 乘 E，但不必真的构造 one-hot", size=SMALL, colour=GREY)
    return fig


FIGURES = {
    "rnn_unrolled": draw_rnn_unrolled,
    "rnn_shapes": draw_rnn_shapes,
    "bptt_graph": draw_bptt_graph,
    "truncated_bptt": draw_truncated_bptt,
    "lstm_cell": draw_lstm_cell,
    "stacked_bidirectional": draw_stacked_bidirectional,
    "gru_cell": draw_gru_cell,
    "char_lm_teacher_forcing": draw_char_lm_teacher_forcing,
    "forecast_windows": draw_forecast_windows,
    "seq2seq_attention": draw_seq2seq_attention,
    "text_to_tensor": draw_text_to_tensor,
}


# --- rendering ----------------------------------------------------------------------------------------------
def _font_id(family: str) -> str:
    """Family, file name and size of the font file matplotlib uses for ``family`` (glyph outlines come from it)."""
    from matplotlib import font_manager

    file = Path(font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False))
    return f"{family} ({file.name}, {file.stat().st_size} bytes)"


def style():
    """The rcParams every figure is drawn and saved with, and a description naming the fonts it depends on."""
    from rnn_course.plotting import find_cjk_font

    cjk = find_cjk_font()
    params = {
        "font.family": ["DejaVu Sans"] + ([cjk] if cjk else []),
        "mathtext.fontset": "dejavusans",
        "svg.fonttype": "path",  # glyphs as paths: the SVG needs no font where it is shown
        "svg.hashsalt": "rnn-course-diagrams",  # stable ids
        "svg.image_inline": True,
        "axes.unicode_minus": True,
        "figure.dpi": 100,
        "savefig.dpi": 100,
    }
    description = (f"rnn_course.diagrams; fonts: {_font_id('DejaVu Sans')} + {_font_id(cjk) if cjk else None}; "
                   f"matplotlib {matplotlib.__version__}")
    return params, description


def render(name: str, out: Path, fmt: str = "svg") -> Path:
    """Draw figure ``name`` and save it as ``out`` (SVG unless ``fmt`` says otherwise)."""
    params, description = style()
    with matplotlib.rc_context(params):
        fig = FIGURES[name]()
        metadata = ({"Date": None, "Creator": None, "Description": description} if fmt == "svg" else None)
        fig.savefig(out, format=fmt, metadata=metadata, facecolor="white")
    return out


def write_all(folder="chapters/figures", fmt: str = "svg") -> list:
    """Render every figure into ``folder``; returns the paths written."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return [render(name, folder / f"{name}.{fmt}", fmt) for name in FIGURES]


if __name__ == "__main__":  # python -m rnn_course.diagrams [folder]
    import sys

    for written in write_all(*sys.argv[1:2]):
        print(written)
