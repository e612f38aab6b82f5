"""Diagnostic checks for the exercise notebooks: say *why* an answer is wrong, not only that it is.

Every ``check_<task>(fn)`` runs a learner's function on small fixed inputs that it builds itself
and, when the answer is wrong, looks for the cause in this order:

1. the call itself (not implemented yet, a matrix product whose shapes do not fit) and the
   **shapes** of what came back;
2. **known mistakes**: it computes the typical wrong answer (sigmoid on g, forgetting tanh′, a
   gate order other than i, f, g, o, top-k without renormalising, reversed λ, off-by-one n-gram
   counts, masking after softmax, …) and names the mistake when the learner's output equals it;
3. **isolation**: it switches terms on one at a time (only x; + b_ih; + b_hh; + h; + c) and names
   the first term whose arrival breaks the answer ("与 b_hh 有关");
4. otherwise a generic message with the largest error.

The expected values come from the short NumPy formulas in this module (no other course module is
imported, so a learner cannot change them by reassigning ``rnn_course.cells.lstm_step`` and
``rnn-course grade`` can load this file afresh into a private module); ``tests/test_checks.py``
asserts each formula equal to Paddle or the course package and feeds every known mistake.
:func:`forbid` turns a call into the course's own implementation ("shortcut") into a failure.

Messages are in Chinese: they are read by learners in the notebooks and in ``rnn-course grade``.
"""

from __future__ import annotations

import itertools
import sys
from contextlib import contextmanager

import numpy as np

# --------------------------------------------------------------------------------------------
# Basic assertions (used directly in test cells)
# --------------------------------------------------------------------------------------------


def _array(value) -> np.ndarray:
    if hasattr(value, "numpy"):  # a paddle.Tensor
        value = value.numpy()
    return np.asarray(value, dtype=np.float64)


def check_close(actual, expected, message: str, atol: float = 1e-5) -> None:
    """Assert ``actual`` ≈ ``expected`` (same shape, max abs diff ≤ atol); fail with ``message``."""
    actual, expected = _array(actual), _array(expected)
    if actual.shape != expected.shape:
        raise AssertionError(f"{message}（形状 {actual.shape}，应为 {expected.shape}）")
    diff = float(np.max(np.abs(actual - expected))) if actual.size else 0.0
    if not diff <= atol:
        raise AssertionError(f"{message}（最大误差 {diff:.3g}，允许 {atol:g}）")


def check_equal(actual, expected, message: str) -> None:
    """Assert ``actual == expected`` exactly; fail with ``message``."""
    if not _same(actual, expected):
        raise AssertionError(f"{message}（得到 {actual!r}，应为 {expected!r}）")


def _same(a, b) -> bool:
    result = a == b
    return bool(result) if not isinstance(result, np.ndarray) else bool(result.all()) and np.shape(a) == np.shape(b)


def check_true(condition, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def check_shape(value, shape, name: str, hint: str = "") -> None:
    """Assert ``np.shape(value) == shape``; the message names the array and, if given, the fix."""
    got = tuple(np.shape(_array(value)))
    if got != tuple(shape):
        raise AssertionError(f"{name} 的形状是 {got}，应为 {tuple(shape)}" + (f"：{hint}" if hint else ""))


def check_choice(answer, options="ABC") -> None:
    """A prediction must be one of the option letters (the answer key is a hidden test)."""
    if not (isinstance(answer, str) and len(answer.strip()) == 1 and answer.strip().upper() in options):
        raise AssertionError(f"answer 应是 {'、'.join(repr(o) for o in options)} 之一，得到 {answer!r}")


# --------------------------------------------------------------------------------------------
# Machinery: call the learner's function, compare, name the mistake
# --------------------------------------------------------------------------------------------
_NOT_DONE = "还没有实现：把 raise NotImplementedError() 换成你的代码"


def _package(*names) -> list:
    """Course functions a learner must not call (``"module:attr"``), resolved when a check runs."""
    import importlib

    found = []
    for name in names:
        module, _, attr = name.partition(":")
        try:
            obj = importlib.import_module(module)
            for part in attr.split("."):
                obj = getattr(obj, part)
        except Exception:  # a renamed helper must not break the check itself
            continue
        found.append(obj)
    return found


_SHORTCUT = "不要直接调用课程包里现成的实现：题目要你自己写出来"


def _call(fn, args, name: str, shape_hint: str = "", forbidden=(), shortcut: str = _SHORTCUT):
    """Call ``fn(*args)`` with the reference formulas of this module and ``forbidden`` off limits;
    a crash becomes an AssertionError that says what to look at."""
    try:
        with forbid([*_own_references(), *forbidden], f"{name}：{shortcut}"):
            return fn(*args)
    except NotImplementedError:
        raise AssertionError(f"{name}：{_NOT_DONE}") from None
    except (ValueError, IndexError) as err:
        text = str(err).splitlines()[0] if str(err) else type(err).__name__
        if shape_hint and any(k in text for k in ("matmul", "shape", "broadcast", "aligned", "dimension")):
            raise AssertionError(f"{name} 出错，矩阵的形状对不上（{text}）：{shape_hint}") from None
        raise AssertionError(f"{name} 出错：{type(err).__name__}: {text}") from None


def _outputs(out, count: int, name: str, names) -> tuple:
    if count == 1:
        return (out,)
    if not isinstance(out, (tuple, list)) or len(out) != count:
        raise AssertionError(f"{name} 应返回 {count} 个值 ({', '.join(names)})，得到 {type(out).__name__}")
    return tuple(out)


def _close(a, b, atol: float) -> bool:
    a, b = _array(a), _array(b)
    return a.shape == b.shape and (a.size == 0 or bool(np.max(np.abs(a - b)) <= atol))


def _max_err(a, b) -> float:
    a, b = _array(a), _array(b)
    return float(np.max(np.abs(a - b))) if a.size else 0.0


class _Task:
    """One learner function and how to diagnose it.

    ``reference(**args)`` returns the correct outputs (a tuple); ``mistakes`` is a list of
    ``(message, wrong(**args))``; ``stages`` a list of ``(names, message)``: the arguments in
    ``names`` keep their values, every other argument listed in ``optional`` is set to zero.
    """

    def __init__(self, name, arg_names, out_names, reference, shapes, mistakes=(), optional=(), stages=(),
                 shape_hints=None, call_hint="", generic="", atol=1e-6, forbidden=()):
        self.forbidden = tuple(forbidden)
        self.name, self.arg_names, self.out_names = name, arg_names, out_names
        self.reference, self.shapes, self.mistakes = reference, shapes, list(mistakes)
        self.optional, self.stages = set(optional), list(stages)
        self.shape_hints, self.call_hint = shape_hints or {}, call_hint
        self.generic, self.atol = generic, atol

    def run(self, fn, args: dict, graded=None) -> None:
        graded = list(graded or self.out_names)
        idx = [self.out_names.index(g) for g in graded]
        out = self._outputs(fn, args)
        for i in idx:  # 1. shapes first
            check_shape(out[i], self.shapes[self.out_names[i]], self.out_names[i],
                        self.shape_hints.get(self.out_names[i], ""))
        expected = self.reference(**args)
        if all(_close(out[i], expected[i], self.atol) for i in idx):
            return
        what = "、".join(graded)
        for message, wrong in self.mistakes:  # 2. the typical wrong answers
            try:
                candidate = wrong(**args)
            except Exception:  # a mistake that cannot even be computed on these inputs
                continue
            if all(not _close(candidate[i], expected[i], self.atol) and _close(out[i], candidate[i], self.atol)
                   for i in idx if i < len(candidate)):
                raise AssertionError(f"{what} 不对：{message}")
        for names, message in self.stages:  # 3. switch the terms on one at a time
            part = {k: (v if k not in self.optional or k in names else np.zeros_like(v)) for k, v in args.items()}
            got = self._outputs(fn, part)
            want = self.reference(**part)
            if not all(_close(got[i], want[i], self.atol) for i in idx):
                raise AssertionError(f"{what} 不对，{message}")
        worst = max(_max_err(out[i], expected[i]) for i in idx)
        raise AssertionError(f"{what} 不对（最大误差 {worst:.3g}）" + (f"：{self.generic}" if self.generic else ""))

    def _outputs(self, fn, args):
        out = _call(fn, [args[k] for k in self.arg_names], self.name, self.call_hint,
                    _package(*self.forbidden))
        return _outputs(out, len(self.out_names), self.name, self.out_names)


@contextmanager
def forbid(functions, message: str):
    """Fail with ``message`` if any of ``functions`` (Python functions or classes, whose
    ``__init__`` counts) is called inside the block — the shortcut "call the course's own
    implementation" then scores nothing."""
    codes = set()
    for f in functions:
        f = getattr(f, "__init__", f) if isinstance(f, type) else f
        code = getattr(f, "__code__", None)
        if code is not None:
            codes.add(code)
    hits = []

    def profiler(frame, event, arg):
        if event == "call" and frame.f_code in codes:
            hits.append(frame.f_code.co_name)

    previous = sys.getprofile()
    sys.setprofile(profiler)
    try:
        yield
    finally:
        sys.setprofile(previous)
    if hits:
        raise AssertionError(message)


# --------------------------------------------------------------------------------------------
# Reference formulas (NumPy, float64; Paddle layout: weight (out, in), x @ W.T)
# --------------------------------------------------------------------------------------------
def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def _rnn_step(x, h, W_ih, W_hh, b_ih, b_hh):
    return (np.tanh(x @ W_ih.T + b_ih + h @ W_hh.T + b_hh),)


LSTM_GATES = ("i", "f", "g", "o")


def _lstm_step(x, h, c, W_ih, W_hh, b_ih, b_hh, order=LSTM_GATES, g_act=np.tanh, h_of_c=np.tanh, old_c=False):
    blocks = dict(zip(order, np.split(x @ W_ih.T + b_ih + h @ W_hh.T + b_hh, 4, axis=-1), strict=True))
    i, f, o = _sigmoid(blocks["i"]), _sigmoid(blocks["f"]), _sigmoid(blocks["o"])
    c_new = f * c + i * g_act(blocks["g"])
    return o * h_of_c(c if old_c else c_new), c_new


def _gru_step(x, h, W_ih, W_hh, b_ih, b_hh, reset_after=True, order=("r", "z", "c"), z_keeps_h=True):
    H = h.shape[-1]
    gi, gh = x @ W_ih.T + b_ih, h @ W_hh.T + b_hh  # (B, 3H) each
    part = {name: k for k, name in enumerate(order)}

    def block(a, name):
        return a[:, part[name] * H:(part[name] + 1) * H]

    r = _sigmoid(block(gi, "r") + block(gh, "r"))
    z = _sigmoid(block(gi, "z") + block(gh, "z"))
    if reset_after:
        h_tilde = np.tanh(block(gi, "c") + r * block(gh, "c"))
    else:
        W_hc, b_hc = W_hh[part["c"] * H:(part["c"] + 1) * H], b_hh[part["c"] * H:(part["c"] + 1) * H]
        h_tilde = np.tanh(block(gi, "c") + (r * h) @ W_hc.T + b_hc)
    return (z * h + (1 - z) * h_tilde,) if z_keeps_h else ((1 - z) * h + z * h_tilde,)


def _rng(seed):
    return np.random.default_rng(seed)


# --------------------------------------------------------------------------------------------
# Chapter 01: one RNN step, a whole sequence
# --------------------------------------------------------------------------------------------
def _rnn_args(seed=0, B=2, n_in=3, H=4):
    g = _rng(seed)
    return {"x": g.standard_normal((B, n_in)), "h": g.standard_normal((B, H)),
            "W_ih": g.uniform(-0.7, 0.7, (H, n_in)), "W_hh": g.uniform(-0.7, 0.7, (H, H)),
            "b_ih": g.uniform(-0.5, 0.5, H), "b_hh": g.uniform(-0.5, 0.5, H)}


_RNN_TASK = _Task(
    "my_rnn_step", ["x", "h", "W_ih", "W_hh", "b_ih", "b_hh"], ["h_t"], _rnn_step, {"h_t": (2, 4)},
    mistakes=[
        ("没有 tanh：h_t = tanh(…)，激活函数不能省",
         lambda x, h, W_ih, W_hh, b_ih, b_hh: (x @ W_ih.T + b_ih + h @ W_hh.T + b_hh,)),
        ("用了 sigmoid：简单 RNN 的激活是 tanh",
         lambda x, h, W_ih, W_hh, b_ih, b_hh: (_sigmoid(x @ W_ih.T + b_ih + h @ W_hh.T + b_hh),)),
        ("少了 b_hh：飞桨有两个偏置 b_ih 和 b_hh，都要加",
         lambda x, h, W_ih, W_hh, b_ih, b_hh: (np.tanh(x @ W_ih.T + b_ih + h @ W_hh.T),)),
        ("少了 b_ih：飞桨有两个偏置 b_ih 和 b_hh，都要加",
         lambda x, h, W_ih, W_hh, b_ih, b_hh: (np.tanh(x @ W_ih.T + h @ W_hh.T + b_hh),)),
        ("W_hh 没有转置：应为 h @ W_hh.T（飞桨的权重形状是 (输出, 输入)）",
         lambda x, h, W_ih, W_hh, b_ih, b_hh: (np.tanh(x @ W_ih.T + b_ih + h @ W_hh + b_hh),)),
    ],
    optional=["h", "b_ih", "b_hh"],
    stages=[((), "只有 x 时就不对（h = 0、偏置为 0）：检查 x @ W_ih.T"),
            (("b_ih",), "加上 b_ih 后出错：与 b_ih 有关"),
            (("b_ih", "b_hh"), "加上 b_hh 后出错：与 b_hh 有关"),
            (("b_ih", "b_hh", "h"), "加上 h_{t−1} 后出错：检查 h @ W_hh.T")],
    call_hint="W_ih 的形状是 (H, I)、W_hh 是 (H, H)，飞桨布局要写 x @ W_ih.T 和 h @ W_hh.T",
    shape_hints={"h_t": "结果应为 (batch, hidden)"},
    forbidden=("rnn_course.cells:rnn_step", "rnn_course.cells:cell_forward", "paddle.nn:SimpleRNNCell"),
)


def check_rnn_step(fn) -> None:
    """``fn(x, h, W_ih, W_hh, b_ih, b_hh)`` → h_t, one tanh RNN step in Paddle's layout."""
    _RNN_TASK.run(fn, _rnn_args(0))


def check_rnn_final_state(fn) -> None:
    """``fn(xs, W_ih, W_hh, b_ih, b_hh)`` → h_T of a tanh RNN from h_0 = 0 over all of ``xs``."""
    g = _rng(1)
    B, T, n_in, H = 3, 6, 3, 4
    xs = g.standard_normal((B, T, n_in))
    a = _rnn_args(2, B, n_in, H)
    W = (a["W_ih"], a["W_hh"], a["b_ih"], a["b_hh"])
    states = [np.zeros((B, H))]
    for t in range(T):
        states.append(_rnn_step(xs[:, t], states[-1], *W)[0])
    out = _call(fn, [xs, *W], "my_rnn_final_state", "xs 的形状是 (batch, time, input)，第 t 步的输入是 xs[:, t]")
    check_shape(out, (B, H), "h_T", "返回最后一步的隐状态 (batch, hidden)")
    if _close(out, states[-1], 1e-6):
        return
    if _close(out, states[-2], 1e-6):
        raise AssertionError("h_T 不对：少跑了一步，range(T) 要遍历全部 T 个时间步")
    for t in range(1, T - 1):
        if _close(out, states[t], 1e-6):
            raise AssertionError(f"h_T 不对：你返回的是第 {t} 步的隐状态，循环要跑完全部 {T} 步")
    ones = np.ones((B, H))
    for _ in range(T):
        ones = _rnn_step(xs[:, _], ones, *W)[0]
    if _close(out, ones, 1e-6):
        raise AssertionError("h_T 不对：h_0 应为全 0")
    raise AssertionError("h_T 不对：检查 h_0 = 0、每步把上一步的 h 传进 my_rnn_step、遍历全部时间步")


# --------------------------------------------------------------------------------------------
# Chapter 02: clipping, one BPTT step, the Jacobian product
# --------------------------------------------------------------------------------------------
def _clip_reference(grads, max_norm):
    norm = np.sqrt(sum(float(np.sum(np.square(g))) for g in grads))
    return [g * (max_norm / max(norm, max_norm)) for g in grads]


def check_clip_global(fn) -> None:
    """``fn(grads, max_norm)`` → clipped list, like ``paddle.nn.ClipGradByGlobalNorm``."""
    g = _rng(0)
    grads = [g.standard_normal((4, 3)) * 3, g.standard_normal(5)]
    norm = np.sqrt(sum(float(np.sum(x ** 2)) for x in grads))
    for c in (0.5, 2.0, 1e4):
        out = _call(fn, [[x.copy() for x in grads], c], "clip_global", forbidden=_package(
            "rnn_course.gradients:clip_by_global_norm", "rnn_course.gradients:global_norm", "paddle.nn:ClipGradByGlobalNorm"))
        if not isinstance(out, (list, tuple)) or len(out) != len(grads):
            raise AssertionError("clip_global 应返回与输入同样多的梯度（一个列表）")
        for o, x in zip(out, grads, strict=True):
            check_shape(o, x.shape, "裁剪后的梯度", "每个梯度保持原来的形状")
        want = _clip_reference(grads, c)
        if all(_close(o, w, 1e-6) for o, w in zip(out, want, strict=True)):
            continue
        per_tensor = [x * (c / max(np.linalg.norm(x), c)) for x in grads]
        always = [x * (c / norm) for x in grads]
        squared = [x * (c / max(norm ** 2, c)) for x in grads]
        for wrong, message in ((per_tensor, "你对每个梯度单独裁剪了：全局范数是所有梯度合在一起的 √(Σ‖g_i‖²)"),
                               (always, "范数小于 c 时不应缩放：系数是 c / max(n, c)"),
                               (squared, "范数忘了开平方：n = √(Σ‖g_i‖²)")):
            if all(_close(o, w, 1e-6) for o, w in zip(out, wrong, strict=True)):
                raise AssertionError(f"max_norm = {c} 时裁剪结果不对：{message}")
        raise AssertionError(f"max_norm = {c} 时裁剪结果不对：检查缩放系数 c / max(n, c)")


def _bptt_args(seed=0, B=3, n_in=2, H=4):
    g = _rng(seed)
    h_prev = np.tanh(g.standard_normal((B, H)))
    return {"delta": g.standard_normal((B, H)), "h_t": np.tanh(g.standard_normal((B, H))), "h_prev": h_prev,
            "x_t": g.standard_normal((B, n_in)), "W_hh": g.uniform(-0.8, 0.8, (H, H))}


def _bptt_reference(delta, h_t, h_prev, x_t, W_hh, dtanh=lambda h: 1.0 - h ** 2):
    a = dtanh(h_t) * delta  # (B, H)
    return a.T @ x_t, a.T @ h_prev, a.sum(axis=0), a @ W_hh


_BPTT_TASK = _Task(
    "bptt_step", ["delta", "h_t", "h_prev", "x_t", "W_hh"], ["dW_ih", "dW_hh", "db", "delta_prev"],
    _bptt_reference, {"dW_ih": (4, 2), "dW_hh": (4, 4), "db": (4,), "delta_prev": (3, 4)},
    mistakes=[
        ("忘了 tanh 的导数：先算 a_t = (1 − h_t²) ⊙ δ_t，再用 a_t 求各项",
         lambda delta, h_t, h_prev, x_t, W_hh: _bptt_reference(delta, h_t, h_prev, x_t, W_hh, lambda h: 1.0)),
        ("tanh 的导数是 1 − h_t²（平方），不是 1 − h_t",
         lambda delta, h_t, h_prev, x_t, W_hh: _bptt_reference(delta, h_t, h_prev, x_t, W_hh, lambda h: 1.0 - h)),
        ("tanh 的导数要用本步的输出 h_t：a_t = (1 − h_t²) ⊙ δ_t，不是 1 − h_{t−1}²",
         lambda delta, h_t, h_prev, x_t, W_hh: _bptt_reference(delta, h_prev, h_prev, x_t, W_hh)),
        ("∂L/∂W_hh 乘的是上一步的 h_{t−1}：a_tᵀ h_{t−1}，不是 a_tᵀ h_t",
         lambda delta, h_t, h_prev, x_t, W_hh: _bptt_reference(delta, h_t, h_t, x_t, W_hh)),
        ("δ_{t−1} = a_t W_hh，W_hh 不转置（前向是 h W_hhᵀ）",
         lambda delta, h_t, h_prev, x_t, W_hh: _bptt_reference(delta, h_t, h_prev, x_t, W_hh.T)),
    ],
    shape_hints={"dW_ih": "梯度与 W_ih 同形 (H, I)：是 a_tᵀ x_t，不是 x_tᵀ a_t",
                 "dW_hh": "梯度与 W_hh 同形 (H, H)",
                 "db": "偏置的梯度形状是 (H,)：对 batch 求和 a_t.sum(axis=0)",
                 "delta_prev": "传回 h_{t−1} 的梯度与 h_{t−1} 同形 (B, H)"},
    generic="检查 a_t = (1 − h_t²) ⊙ δ_t 与各项的乘法顺序",
    atol=1e-9, forbidden=("rnn_course.gradients:rnn_bptt",),
)


def check_bptt_step(fn, part: str = "weights") -> None:
    """``fn(delta, h_t, h_prev, x_t, W_hh)`` → (dW_ih, dW_hh, db, delta_prev). ``part``: "weights"
    grades dW_ih, dW_hh, db; "delta" grades delta_prev — two test cells, two points."""
    graded = {"weights": ["dW_ih", "dW_hh", "db"], "delta": ["delta_prev"]}[part]
    _BPTT_TASK.run(fn, _bptt_args(0), graded)


def check_bptt_chain(fn) -> None:
    """Chain ``fn`` over a whole sequence and compare ∂L/∂W_hh, ∂L/∂W_ih with finite differences
    of the forward pass (L = Σ g ⊙ h_T for a fixed random g) — an independent check of BPTT."""
    g = _rng(5)
    B, T, n_in, H = 2, 5, 2, 3
    xs, W_ih, W_hh = g.standard_normal((B, T, n_in)), g.uniform(-0.8, 0.8, (H, n_in)), g.uniform(-0.8, 0.8, (H, H))
    b, weight = g.uniform(-0.3, 0.3, H), g.standard_normal((B, H))

    def forward(W_ih, W_hh):
        hs = [np.zeros((B, H))]
        for t in range(T):
            hs.append(np.tanh(xs[:, t] @ W_ih.T + hs[-1] @ W_hh.T + b))
        return hs

    hs = forward(W_ih, W_hh)
    delta, total_ih, total_hh = weight.copy(), np.zeros_like(W_ih), np.zeros_like(W_hh)
    for t in range(T, 0, -1):
        out = _outputs(_call(fn, [delta, hs[t], hs[t - 1], xs[:, t - 1], W_hh], "bptt_step"), 4, "bptt_step",
                       _BPTT_TASK.out_names)
        total_ih, total_hh, delta = total_ih + _array(out[0]), total_hh + _array(out[1]), _array(out[3])

    def numeric(W, which):
        grad, eps = np.zeros_like(W), 1e-6
        for idx in np.ndindex(W.shape):
            plus, minus = W.copy(), W.copy()
            plus[idx] += eps
            minus[idx] -= eps
            args_p = (plus, W_hh) if which == "ih" else (W_ih, plus)
            args_m = (minus, W_hh) if which == "ih" else (W_ih, minus)
            grad[idx] = (np.sum(weight * forward(*args_p)[-1]) - np.sum(weight * forward(*args_m)[-1])) / (2 * eps)
        return grad

    check_close(total_hh, numeric(W_hh, "hh"), "把各步加起来的 ∂L/∂W_hh 与有限差分不符：检查每步把 δ_{t−1} 传给下一次调用",
                atol=1e-6)
    check_close(total_ih, numeric(W_ih, "ih"), "把各步加起来的 ∂L/∂W_ih 与有限差分不符", atol=1e-6)


def _jacobian(hs, W_hh, order="left", first=2, transpose=False):
    W = W_hh.T if transpose else W_hh
    J = np.eye(W.shape[0])
    for k in range(len(hs) - 1, first - 1, -1):
        factor = (1.0 - hs[k] ** 2)[:, None] * W if order != "right" else W * (1.0 - hs[k] ** 2)[None, :]
        J = J @ factor if order != "reverse" else factor @ J
    return J


def check_jacobian(fn) -> None:
    """``fn(hs, W_hh)`` → ∂h_T/∂h_1 = Π_{k=T..2} diag(1 − h_k²) W_hh, shape (H, H)."""
    g = _rng(7)
    T, H = 5, 4
    W_hh = g.uniform(-0.9, 0.9, (H, H))
    hs = np.vstack([np.zeros(H), np.tanh(g.standard_normal((T, H)))])  # (T + 1, H), hs[0] = h_0
    out = _call(fn, [hs, W_hh], "jacobian_h_T_h_1", forbidden=_package("rnn_course.gradients:rnn_jacobian_norms"))
    check_shape(out, (H, H), "∂h_T/∂h_1", "它是 (H, H) 的矩阵")
    want = _jacobian(hs, W_hh)
    if _close(out, want, 1e-9):
        return
    mistakes = [
        (_jacobian(hs, W_hh, order="reverse"), "乘积的顺序反了：从 k = T 开始，从左到右 k 递减（J = J @ 因子）"),
        (_jacobian(hs, W_hh, order="right"), "每个因子是 diag(1 − h_k²) W_hh（先 diag 再 W_hh），不是 W_hh diag(1 − h_k²)"),
        (_jacobian(hs, W_hh, transpose=True), "W_hh 不转置：∂h_k/∂h_{k−1} = diag(1 − h_k²) W_hh"),
        (_jacobian(hs, W_hh, first=1), "多乘了一项：k 只取 T, …, 2（T − 1 个因子），h_1 本身不算"),
        (_jacobian(hs, W_hh, first=3), "少乘了一项：k 取 T, …, 2，共 T − 1 个因子"),
    ]
    for wrong, message in mistakes:
        if _close(out, wrong, 1e-9):
            raise AssertionError(f"∂h_T/∂h_1 不对：{message}")
    raise AssertionError(f"∂h_T/∂h_1 不对（最大误差 {_max_err(out, want):.3g}）：检查 diag(1 − h_k²) 与乘积的项数")


# --------------------------------------------------------------------------------------------
# Chapter 03: one LSTM step, the parameter count
# --------------------------------------------------------------------------------------------
def _lstm_args(seed=1, B=3, n_in=3, H=5):
    g = _rng(seed)
    return {"x": g.standard_normal((B, n_in)), "h": np.tanh(g.standard_normal((B, H))),
            "c": g.standard_normal((B, H)), "W_ih": g.uniform(-0.6, 0.6, (4 * H, n_in)),
            "W_hh": g.uniform(-0.6, 0.6, (4 * H, H)), "b_ih": g.uniform(-0.5, 0.5, 4 * H),
            "b_hh": g.uniform(-0.5, 0.5, 4 * H)}


def _lstm_mistakes():
    def wrong(**kw):
        return lambda x, h, c, W_ih, W_hh, b_ih, b_hh: _lstm_step(x, h, c, W_ih, W_hh, b_ih, b_hh, **kw)

    out = [("候选值 g（c̃）要用 tanh，不是 sigmoid：c' = f⊙c + i⊙tanh(g)", wrong(g_act=_sigmoid)),
           ("h' = o⊙tanh(c')：c' 外面还要一个 tanh", wrong(h_of_c=lambda a: a)),
           ("h' 要用新的细胞状态 c'：h' = o⊙tanh(c')，不是 o⊙tanh(c)", wrong(old_c=True)),
           ("少了 b_hh：飞桨有两个偏置 b_ih 和 b_hh，都要加",
            lambda x, h, c, W_ih, W_hh, b_ih, b_hh: _lstm_step(x, h, c, W_ih, W_hh, b_ih, 0 * b_hh))]
    for order in itertools.permutations(LSTM_GATES):
        if order != LSTM_GATES:
            out.append((f"门的顺序不对：你把 4 块当成了 ({', '.join(order)})；飞桨的顺序是 i, f, g(c̃), o，"
                        "即 W_ih 的第 0 块行属于输入门 i、第 1 块属于遗忘门 f", wrong(order=order)))
    return out


_LSTM_TASK = _Task(
    "lstm_step", ["x", "h", "c", "W_ih", "W_hh", "b_ih", "b_hh"], ["h_new", "c_new"], _lstm_step,
    {"h_new": (3, 5), "c_new": (3, 5)}, mistakes=_lstm_mistakes(),
    optional=["h", "c", "b_ih", "b_hh"],
    stages=[((), "只有 x 时就不对（h = c = 0、偏置为 0）：检查 x @ W_ih.T、按 i, f, g, o 切成 4 块"),
            (("b_ih",), "加上 b_ih 后出错：与 b_ih 有关"),
            (("b_ih", "b_hh"), "加上 b_hh 后出错：与 b_hh 有关"),
            (("b_ih", "b_hh", "h"), "加上 h 后出错：检查 h @ W_hh.T"),
            (("b_ih", "b_hh", "h", "c"), "加上旧的细胞状态 c 后出错：检查 f⊙c 这一项")],
    call_hint="W_ih 的形状是 (4H, I)、W_hh 是 (4H, H)：写 x @ W_ih.T、h @ W_hh.T，得到 (B, 4H) 再切成 4 块",
    shape_hints={"h_new": "h' 应为 (batch, hidden)", "c_new": "c' 应为 (batch, hidden)"},
    generic="检查门顺序 i, f, g, o 与 c' = f⊙c + i⊙g、h' = o⊙tanh(c')",
    forbidden=("rnn_course.cells:lstm_step", "rnn_course.cells:cell_forward", "paddle.nn:LSTMCell"),
)


def check_lstm_step(fn, part: str = "c") -> None:
    """``fn(x, h, c, W_ih, W_hh, b_ih, b_hh)`` → (h_new, c_new). ``part`` "c" grades c', "h" grades h'."""
    _LSTM_TASK.run(fn, _lstm_args(1), {"c": ["c_new"], "h": ["h_new"]}[part])


def lstm_param_count_reference(input_size, hidden_size, num_layers=1, bidirectional=False, biases=2,
                               upper_input=None) -> int:
    directions = 2 if bidirectional else 1
    total = 0
    for k in range(num_layers):
        layer_in = input_size if k == 0 else (upper_input or hidden_size * directions)
        total += directions * 4 * (hidden_size * layer_in + hidden_size * hidden_size + biases * hidden_size)
    return total


def check_lstm_param_count(fn, forbidden=()) -> None:
    """``fn(input_size, hidden_size, num_layers, bidirectional)`` → the parameter count of
    ``paddle.nn.LSTM``; creating a network inside ``fn`` (any of ``forbidden``) fails."""
    forbidden = [*forbidden, *_package("paddle.nn:LSTM", "paddle.nn:SimpleRNN", "paddle.nn:GRU", "rnn_course.cells:count_parameters")]
    cases = ((8, 16, 1, False), (64, 128, 1, False), (5, 7, 2, False), (5, 7, 2, True), (3, 4, 3, True))
    for n_in, H, L, bi in cases:
        got = _call(fn, [n_in, H, L, bi], "lstm_param_count", forbidden=forbidden,
                    shortcut="不要创建网络来数参数：用公式算（题目要求不建 paddle.nn.LSTM）")
        want = lstm_param_count_reference(n_in, H, L, bi)
        if got == want:
            continue
        case = f"LSTM({n_in}, {H}, 层数 {L}, 双向 {bi}) 的参数个数不对"
        if got == lstm_param_count_reference(n_in, H, L, bi, biases=1):
            raise AssertionError(f"{case}：飞桨每个门有两个偏置 b_ih 和 b_hh")
        if bi and got == lstm_param_count_reference(n_in, H, L, False):
            raise AssertionError(f"{case}：双向时每层有两个方向，参数翻倍")
        if bi and L > 1 and got == lstm_param_count_reference(n_in, H, L, bi, upper_input=H):
            raise AssertionError(f"{case}：双向时上层的输入是两个方向拼起来的 2H")
        if got == lstm_param_count_reference(n_in, H, L, bi) // 4:
            raise AssertionError(f"{case}：LSTM 有 4 个门，每个门一组 W_ih、W_hh、b_ih、b_hh")
        raise AssertionError(f"{case}（得到 {got!r}，应为 {want}）：检查 4 个门、2 个偏置与上层输入维度")


# --------------------------------------------------------------------------------------------
# Chapter 06: GRU steps
# --------------------------------------------------------------------------------------------
def _gru_args(seed=3, B=2, n_in=3, H=4):
    g = _rng(seed)
    return {"x": g.standard_normal((B, n_in)), "h": np.tanh(g.standard_normal((B, H))),
            "W_ih": g.uniform(-0.7, 0.7, (3 * H, n_in)), "W_hh": g.uniform(-0.7, 0.7, (3 * H, H)),
            "b_ih": g.uniform(-0.5, 0.5, 3 * H), "b_hh": g.uniform(-0.5, 0.5, 3 * H)}


def _gru_task(reset_after: bool):
    def ref(**kw):
        return lambda x, h, W_ih, W_hh, b_ih, b_hh: _gru_step(x, h, W_ih, W_hh, b_ih, b_hh, **kw)

    other = "先重置（r 乘在 h 上，再乘 W_hc）" if reset_after else "后重置（r 乘在 h W_hcᵀ + b_hc 上）"
    mine = "后重置：h̃ = tanh(x W_icᵀ + b_ic + r⊙(h W_hcᵀ + b_hc))" if reset_after else \
        "先重置：h̃ = tanh(x W_icᵀ + b_ic + (r⊙h) W_hcᵀ + b_hc)"
    mistakes = [(f"你写的是{other}；本题是{mine}", ref(reset_after=not reset_after)),
                ("h_t = z⊙h + (1−z)⊙h̃：飞桨里 z 接近 1 时保留旧的 h，你把 z 和 1 − z 用反了",
                 ref(reset_after=reset_after, z_keeps_h=False)),
                ("门的顺序是 r, z, c：W_ih 的第 0 块属于重置门 r，第 1 块属于更新门 z",
                 ref(reset_after=reset_after, order=("z", "r", "c")))]
    return _Task(
        "my_gru_step" if reset_after else "my_gru_step_reset_before", ["x", "h", "W_ih", "W_hh", "b_ih", "b_hh"],
        ["h_t"], ref(reset_after=reset_after), {"h_t": (2, 4)}, mistakes=mistakes,
        optional=["h", "b_ih", "b_hh"],
        stages=[((), "只有 x 时就不对（h = 0、偏置为 0）：检查门的顺序 r, z, c 与 x @ W_ih.T"),
                (("b_ih",), "加上 b_ih 后出错：与 b_ih 有关"),
                (("b_ih", "b_hh"), "加上 b_hh 后出错：b_hc 在 r 的哪一侧？" if reset_after else "加上 b_hh 后出错：与 b_hh 有关"),
                (("b_ih", "b_hh", "h"), "加上 h 后出错：检查 r 乘在哪里与 h_t = z⊙h + (1−z)⊙h̃")],
        call_hint="W_ih 的形状是 (3H, I)、W_hh 是 (3H, H)：写 x @ W_ih.T、h @ W_hh.T",
        generic=mine, forbidden=("rnn_course.cells:gru_step", "rnn_course.cells:cell_forward", "paddle.nn:GRUCell"),
    )


_GRU_AFTER, _GRU_BEFORE = _gru_task(True), _gru_task(False)


def check_gru_step(fn, reset_after: bool = True) -> None:
    """``fn(x, h, W_ih, W_hh, b_ih, b_hh)`` → h_t of Paddle's GRU (``reset_after``) or the
    reset-before variant of reference article 001."""
    (_GRU_AFTER if reset_after else _GRU_BEFORE).run(fn, _gru_args(3))


# --------------------------------------------------------------------------------------------
# Chapter 07: perplexity, sampling distribution, interpolated bigram
# --------------------------------------------------------------------------------------------
def check_perplexity(fn, forbidden=()) -> None:
    """``fn(probs)`` → exp(−mean log p)."""
    forbidden = [*forbidden, *_package("rnn_course.language_model:perplexity_from_log_probs", "rnn_course.metrics:perplexity")]
    for probs in ([0.25, 0.25, 0.25], list(_rng(0).uniform(0.01, 1, size=50))):
        p = np.asarray(probs)
        got = _call(fn, [list(probs)], "my_perplexity", forbidden=forbidden,
                    shortcut="不要调用课程包里现成的困惑度函数：用公式自己算")
        want = float(np.exp(-np.mean(np.log(p))))
        if _close(got, want, 1e-9):
            continue
        for wrong, message in ((1.0 / np.mean(p), "是对 log p 求平均，不是对 p 求平均：exp(−mean(log p))"),
                               (float(np.exp(np.mean(np.log(p)))), "少了负号：PPL = exp(−mean log p) ≥ 1"),
                               (float(-np.mean(np.log(p))), "少了 exp：−mean log p 是交叉熵，PPL 是它的指数"),
                               (float(np.exp(-np.sum(np.log(p)))), "要取平均（除以 N），不是求和")):
            if _close(got, wrong, 1e-9) and not _close(wrong, want, 1e-9):
                raise AssertionError(f"PPL 不对：{message}")
        raise AssertionError(f"PPL 不对（得到 {got!r}，应为 {want:.6g}）：PPL = exp(−(1/N) Σ log p_t)")


def _sampling_reference(z, T, k=None, renormalise=True, keep=None):
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z / T - np.max(z / T))
    if k is not None:
        order = np.argsort(-z, kind="stable")
        kept = np.zeros_like(z, dtype=bool)
        kept[order[: (k if keep is None else keep)]] = True
        e = np.where(kept, e, 0.0)
        return e / e.sum() if renormalise else e / np.exp(z / T - np.max(z / T)).sum()
    return e / e.sum()


def check_sampling_probs(fn, forbidden=()) -> None:
    """``fn(z, T, k=None)`` → softmax(z / T) restricted to the k largest logits, renormalised."""
    forbidden = [*forbidden, *_package("rnn_course.generate:next_token_probs")]
    z = _rng(1).normal(size=12) * 2
    for T, k in ((1.0, None), (0.5, None), (2.0, None), (2.0, 3), (0.7, 5)):
        got = _call(fn, [z.copy(), T] + ([] if k is None else [k]), "my_sampling_probs", forbidden=forbidden,
                    shortcut="不要调用课程包里现成的采样分布函数：自己写 softmax 和 top-k")
        check_shape(got, z.shape, "采样分布", "每个词元一个概率，形状 (V,)")
        want = _sampling_reference(z, T, k)
        if _close(got, want, 1e-6):
            continue
        case = f"T={T}" + (f", k={k}" if k else "")
        mistakes = [(_sampling_reference(z, 1.0 / T, k), "logits 要除以 T，不是乘以 T"),
                    (_sampling_reference(z, 1.0, k), "没有用温度：先算 z / T"),
                    (_sampling_reference(z, T, None), "没有做 top-k：只保留最大的 k 个 logits")]
        if k:
            mistakes += [(_sampling_reference(z, T, k, renormalise=False),
                          "top-k 之后没有重新归一化：把其余位置置 0 后，保留的 k 个概率要再除以它们的和（和为 1）"),
                         (_sampling_reference(z, T, k, keep=k + 1), f"保留了 {k + 1} 个：top-k 恰好保留 k 个"),
                         (_sampling_reference(z, T, k, keep=k - 1), f"只保留了 {k - 1} 个：top-k 恰好保留 k 个"),
                         (_smallest_k(z, T, k), "保留的是最小的 k 个：应保留最大的 k 个")]
        for wrong, message in mistakes:
            if _close(got, wrong, 1e-6) and not _close(wrong, want, 1e-6):
                raise AssertionError(f"{case} 时分布不对：{message}")
        if abs(float(np.sum(_array(got))) - 1.0) > 1e-6:
            raise AssertionError(f"{case} 时分布不对：概率之和是 {float(np.sum(_array(got))):.4f}，应为 1")
        raise AssertionError(f"{case} 时分布不对（最大误差 {_max_err(got, want):.3g}）：softmax(z / T)，top-k 后重新归一化")


def _smallest_k(z, T, k):
    z = np.asarray(z, dtype=np.float64)
    kept = np.zeros_like(z, dtype=bool)
    kept[np.argsort(z, kind="stable")[:k]] = True
    e = np.where(kept, np.exp(z / T - np.max(z / T)), 0.0)
    return e / e.sum()


BIGRAM_CORPUS = [[0, 1, 2, 3], [0, 1, 1, 4], [0, 2, 3, 4, 1]]


def bigram_reference(corpus, v, w, lambdas=(0.1, 0.3, 0.6), V=5, pairs_from=1, unigram_from=1, context="pairs"):
    """λ₂ c(v,w)/c(v,·) + λ₁ c(w)/N + λ₀/V with ``lambdas`` = (λ₀, λ₁, λ₂); the other keywords
    build the typical off-by-one mistakes."""
    l0, l1, l2 = lambdas
    pairs = [(s[t - 1], s[t]) for s in corpus for t in range(pairs_from, len(s))]
    targets = [s[t] for s in corpus for t in range(unigram_from, len(s))]
    c_vw = sum(1 for a, b in pairs if (a, b) == (v, w))
    c_v = sum(1 for a, _ in pairs if a == v) if context == "pairs" else sum(s.count(v) for s in corpus)
    return l2 * c_vw / c_v + l1 * targets.count(w) / len(targets) + l0 / V


def check_bigram_prob(fn, forbidden=()) -> None:
    """``fn(corpus, v, w, lambdas=(λ₀, λ₁, λ₂), V=5)`` → the interpolated bigram probability."""
    forbidden = [*forbidden, *_package("rnn_course.language_model:NGramLM", "rnn_course.language_model:NGramLM.prob", "rnn_course.language_model:NGramLM.mix")]
    corpus = [list(s) for s in BIGRAM_CORPUS]
    cases = [(1, 2, (0.1, 0.3, 0.6)), (0, 4, (0.1, 0.3, 0.6)), (3, 4, (0.2, 0.2, 0.6)), (1, 1, (0.05, 0.35, 0.6)),
             (2, 3, (0.1, 0.3, 0.6))]
    for v, w, lam in cases:
        got = _call(fn, [corpus, v, w, lam, 5], "my_bigram_prob", forbidden=forbidden,
                    shortcut="不要调用课程包里现成的 n 元模型：自己数")
        want = bigram_reference(corpus, v, w, lam)
        if _close(got, want, 1e-9):
            continue
        case = f"P({w} | {v})（λ = {lam}）不对"
        mistakes = [(bigram_reference(corpus, v, w, lam[::-1]),
                     "λ 的顺序反了：lambdas = (λ₀, λ₁, λ₂)，λ₀ 乘均匀分布 1/V，λ₂ 乘 bigram"),
                    (bigram_reference(corpus, v, w, lam, unigram_from=0),
                     "unigram 计数多数了：c(w) 和 N 只统计被预测的位置（每条序列第一个之后），起始符不算"),
                    (bigram_reference(corpus, v, w, lam, context="tokens"),
                     "c(v,·) 数多了：只数 v 后面还跟着一个词元的次数，序列末尾的 v 不算"),
                    (bigram_reference(corpus, v, w, lam, pairs_from=2),
                     "bigram 少数了一对：每条序列的相邻对从 (s[0], s[1]) 开始")]
        for wrong, message in mistakes:
            if _close(got, wrong, 1e-9) and not _close(wrong, want, 1e-9):
                raise AssertionError(f"{case}：{message}")
        raise AssertionError(f"{case}（得到 {got!r}，应为 {want:.6g}）：检查 c(v,w)/c(v,·)、c(w)/N 与 λ 的顺序")
    total = sum(_call(fn, [corpus, 3, w, (0.1, 0.3, 0.6), 5], "my_bigram_prob") for w in range(5))
    check_true(abs(total - 1) < 1e-9, f"P(· | 3) 加起来应为 1，得到 {total:.4f}")


# --------------------------------------------------------------------------------------------
# Chapter 09: clipped n-gram matches, additive attention, masked cross-entropy
# --------------------------------------------------------------------------------------------
def clipped_matches_reference(hyp, ref, n, clip=True, extra=1):
    def grams(s):
        counts = {}
        for i in range(len(s) - n + extra):
            g = tuple(s[i: i + n])
            counts[g] = counts.get(g, 0) + 1
        return counts

    h, r = grams(hyp), grams(ref)
    matches = sum(min(c, r.get(g, 0)) if clip else (c if g in r else 0) for g, c in h.items())
    return matches, max(len(hyp) - n + extra, 0)


def check_clipped_matches(fn, forbidden=()) -> None:
    """``fn(hyp, ref, n)`` → (clipped matches, number of n-grams in hyp)."""
    forbidden = [*forbidden, *_package("rnn_course.metrics:corpus_bleu", "rnn_course.metrics:_ngram_counts")]
    cases = [("7777", "7123", 1), ("3052", "3052", 4), ("12", "1234", 3), ("112112", "1121", 2),
             ("12312", "31231", 2), ("4545", "5454", 3)]
    for hyp, ref, n in cases:
        got = _call(fn, [list(hyp), list(ref), n], "clipped_matches", forbidden=forbidden,
                    shortcut="不要调用课程包里现成的 BLEU 函数：自己数 n 元组")
        want = clipped_matches_reference(list(hyp), list(ref), n)
        if isinstance(got, (tuple, list)) and tuple(got) == want:
            continue
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            raise AssertionError(f"clipped_matches 应返回 (matches, total) 两个数，得到 {got!r}")
        case = f"预测 {hyp}、参考 {ref}、n={n} 时得到 {tuple(got)}，应为 {want}"
        for wrong, message in (
                (clipped_matches_reference(list(hyp), list(ref), n, extra=0),
                 "n 元组少数了一个（off-by-one）：长度 L 的序列有 L − n + 1 个 n 元组，range(len(s) − n + 1)"),
                (clipped_matches_reference(list(hyp), list(ref), n, extra=2),
                 "n 元组多数了一个（off-by-one）：长度 L 的序列有 L − n + 1 个 n 元组"),
                (clipped_matches_reference(list(hyp), list(ref), n, clip=False),
                 "没有截断：每个 n 元组最多按它在参考中出现的次数计")):
            if tuple(got) == wrong and wrong != want:
                raise AssertionError(f"{case}：{message}")
        if got[1] != want[1]:
            raise AssertionError(f"{case}：total 是预测里 n 元组的个数 max(L − n + 1, 0)")
        raise AssertionError(f"{case}：matches 是 Σ min(预测中的次数, 参考中的次数)")


def _attention_args(seed=0, B=3, S=7, Q=4, K=5, A=6):
    g = _rng(seed)
    return {"query": g.standard_normal((B, Q)), "keys": g.standard_normal((B, S, K)),
            "mask": np.arange(S)[None, :] < np.array([[S], [3], [1]]),
            "W_q": g.uniform(-0.6, 0.6, (Q, A)), "W_k": g.uniform(-0.6, 0.6, (K, A)),
            "b_k": g.uniform(-0.5, 0.5, A), "v": g.uniform(-0.8, 0.8, (A, 1))}


def _attention(query, keys, mask, W_q, W_k, b_k, v, where="before", axis=1):
    scores = (np.tanh(keys @ W_k + b_k + (query @ W_q)[:, None, :]) @ v)[..., 0]  # (B, S)
    if where == "before":
        scores = np.where(mask, scores, -np.inf)
    e = np.exp(scores - scores.max(axis=axis, keepdims=True))
    weights = e / e.sum(axis=axis, keepdims=True)
    return (weights * mask if where == "after" else weights,)


_ATTENTION_TASK = _Task(
    "attention_weights", ["query", "keys", "mask", "W_q", "W_k", "b_k", "v"], ["weights"], _attention,
    {"weights": (3, 7)},
    mistakes=[("先对全部位置做 softmax、再把补齐位置置 0（掩码放在 softmax 之后）：每行权重之和不再是 1。"
               "要在 softmax 之前把补齐位置的分数设为 −inf",
               lambda **a: _attention(**a, where="after")),
              ("补齐位置也分到了权重：softmax 之前把 mask 为 False 的分数设为 −inf",
               lambda **a: _attention(**a, where="none")),
              ("softmax 的方向不对：在每个样本的 S 个位置上归一化（axis=1）",
               lambda **a: _attention(**a, axis=0)),
              ("少了 b_k：e_j = vᵀ tanh(W_q s + W_k h_j + b_k)",
               lambda **a: _attention(**{**a, "b_k": 0 * a["b_k"]}))],
    call_hint="W_q 的形状是 (query, attention)，按 paddle.nn.Linear 的布局写 query @ W_q（不转置）；"
              "keys @ W_k 得到 (batch, S, attention)",
    shape_hints={"weights": "每个样本对 S 个源位置各有一个权重：(batch, S)"},
    generic="检查 vᵀ tanh(W_q s + W_k h_j + b_k) 与只在真实位置上的 softmax",
    forbidden=("rnn_course.seq2seq:masked_softmax_context", "rnn_course.seq2seq:AdditiveAttention"),
)


def check_attention_weights(fn) -> None:
    """``fn(query, keys, mask, W_q, W_k, b_k, v)`` → (batch, S) additive-attention weights."""
    _ATTENTION_TASK.run(fn, _attention_args(0))


def _masked_ce_reference(logits, target, how="masked"):
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    nll = -np.take_along_axis(log_p, target[..., None], axis=-1)[..., 0]  # (B, T)
    mask = (target != 0).astype(np.float64)
    if how == "masked":
        return float((nll * mask).sum() / mask.sum())
    if how == "plain":
        return float(nll.mean())
    if how == "all_count":
        return float((nll * mask).sum() / mask.size)
    if how == "sum":
        return float((nll * mask).sum())
    return float(((nll * mask).sum(axis=1) / mask.sum(axis=1)).mean())  # per sequence, then mean


def check_masked_ce(fn) -> None:
    """``fn(logits, target)`` → mean cross-entropy over the real (non-zero) target tokens."""
    g = _rng(3)
    logits = 5 * g.standard_normal((4, 6, 9))
    target = np.array([[4, 5, 3, 0, 0, 0], [6, 3, 0, 0, 0, 0], [4, 4, 4, 5, 6, 3], [7, 3, 0, 0, 0, 0]])
    got = _call(fn, [logits.copy(), target.copy()], "masked_ce", forbidden=_package(
        "rnn_course.train:masked_cross_entropy", "rnn_course.seq2seq:masked_cross_entropy"))
    check_shape(got, (), "损失", "返回一个数（float）")
    want = _masked_ce_reference(logits, target)
    if _close(got, want, 1e-6):
        return
    for how, message in (("plain", "补齐位置（target == 0）也算进了损失：乘上掩码 m = (target != 0)"),
                         ("all_count", "分母应是真实词元的个数 Σm，不是 batch × T"),
                         ("sum", "要除以真实词元的个数（平均），不是求和"),
                         ("per_seq", "先对每条序列平均再平均会让短序列的词元权重更大：分子分母都对全部词元求和")):
        if _close(got, _masked_ce_reference(logits, target, how), 1e-6):
            raise AssertionError(f"掩码损失不对：{message}")
    raise AssertionError(f"掩码损失不对（得到 {float(_array(got)):.4f}，应为 {want:.4f}）：检查 log-softmax 与掩码")


# --------------------------------------------------------------------------------------------
# Chapters 04, 05, 08: small data utilities
# --------------------------------------------------------------------------------------------
def check_adding_targets(fn) -> None:
    """``fn(x)`` with x (n, T, 2) → (n, 1) sums of the marked values."""
    g = _rng(3)
    n, T = 20, 12
    values, marks = g.random((n, T)), np.zeros((n, T))
    marks[np.arange(n), g.integers(0, T // 2, n)] = 1
    marks[np.arange(n), g.integers(T // 2, T, n)] = 1
    x = np.stack([values, marks], axis=-1)
    got = _call(fn, [x.copy()], "adding_targets")
    want = (values * marks).sum(axis=1, keepdims=True)
    if _array(got).shape == (n,) and _close(np.asarray(got)[:, None], want, 1e-6):
        raise AssertionError("目标的形状应为 (n, 1)：sum(axis=1, keepdims=True)")
    check_shape(got, (n, 1), "目标", "每个样本一个目标值")
    if _close(got, values.sum(axis=1, keepdims=True), 1e-6):
        raise AssertionError("目标不对：只加被标记的两个数（通道 0 乘以通道 1 的标记）")
    check_close(got, want, "目标不对：把通道 0 的数值乘以通道 1 的标记，再沿时间求和")


def check_masked_mean(fn) -> None:
    """``fn(outputs, lengths)`` (paddle tensors) → (batch, hidden) mean over the real steps."""
    import paddle

    g = _rng(4)
    out = g.standard_normal((3, 5, 4)).astype("float32")
    lengths = np.array([3, 5, 1], dtype=np.int64)
    got = _call(fn, [paddle.to_tensor(out), paddle.to_tensor(lengths)], "masked_mean",
                forbidden=_package("rnn_course.models:SequenceClassifier.encode"))
    check_shape(got, (3, 4), "池化结果", "(batch, hidden)：沿时间维平均")
    mask = (np.arange(5)[None, :] < lengths[:, None]).astype(np.float64)[..., None]
    want = (out * mask).sum(axis=1) / mask.sum(axis=1)
    if _close(got, want, 1e-5):
        return
    if _close(got, out.mean(axis=1), 1e-5):
        raise AssertionError("平均池化不对：补齐位置也算进了平均，只平均前 L_i 步")
    if _close(got, (out * mask).sum(axis=1) / 5, 1e-5):
        raise AssertionError("平均池化不对：掩码后要除以真实长度 L_i，不是 T")
    raise AssertionError("平均池化不对：z_i = (1/L_i) Σ_{t ≤ L_i} h_{i,t}")


def check_prf(fn) -> None:
    """``fn(C)`` → (precision, recall, f1) of class 1 from the 2 × 2 confusion matrix C[true, pred]."""
    C = np.array([[50, 10], [30, 40]])
    got = _call(fn, [C.copy()], "prf_from_confusion", forbidden=_package(
        "rnn_course.metrics:precision_recall_f1", "sklearn.metrics:precision_recall_fscore_support"))
    if not isinstance(got, (tuple, list)) or len(got) != 3:
        raise AssertionError(f"应返回 (precision, recall, f1) 三个数，得到 {got!r}")
    p, r = 40 / 50, 40 / 70
    want = (p, r, 2 * p * r / (p + r))
    if _close(got, want, 1e-9):
        check_equal(tuple(float(v) for v in _call(fn, [np.array([[5, 0], [3, 0]])], "prf_from_confusion")),
                    (0.0, 0.0, 0.0), "分母为 0 时该项记为 0")
        return
    if _close(got, (r, p, want[2]), 1e-9):
        raise AssertionError("precision 和 recall 反了：FP 在 C[0, 1]（真实 0、预测 1），FN 在 C[1, 0]")
    check_close(got[0], p, "precision 不对：TP / (TP + FP)，TP 在 C[1, 1]、FP 在 C[0, 1]", atol=1e-9)
    check_close(got[1], r, "recall 不对：TP / (TP + FN)，FN 在 C[1, 0]", atol=1e-9)
    check_close(got[2], want[2], "F1 不对：2PR / (P + R)", atol=1e-9)


def check_train_scaling(fn) -> None:
    """``fn(x, n_train)`` → (x − μ) / σ with μ, σ of x[:n_train] only."""
    x = np.cumsum(_rng(8).standard_normal(120)) + np.linspace(0, 30, 120)
    got = _call(fn, [x.copy(), 80], "scale_with_train_stats", forbidden=_package("rnn_course.forecasting:Scaler.fit"))
    check_shape(got, x.shape, "标准化结果", "整条序列都要标准化")
    train = x[:80]
    if _close(got, (x - train.mean()) / train.std(), 1e-9):
        return
    if _close(got, (x - x.mean()) / x.std(), 1e-9):
        raise AssertionError("μ 和 σ 用了整条序列：测试部分的信息泄露进了训练，只用 x[:n_train] 计算")
    if _close(got, (x - train.mean()) / train.std(ddof=1), 1e-9):
        raise AssertionError("σ 用了样本标准差 (ddof=1)：本题用 np.std 的默认形式（总体标准差）")
    raise AssertionError("标准化不对：z = (x − μ) / σ，μ、σ 来自 x[:n_train]")


def check_seasonal_naive(fn) -> None:
    """``fn(X, m)`` with X (n, window, 1) → (n, 1) with x̂_{t+1} = x_{t+1−m}."""
    X = _rng(9).standard_normal((6, 24, 1))
    for m in (12, 1, 5):
        got = _call(fn, [X.copy(), m], "seasonal_naive", forbidden=_package(
            "rnn_course.forecasting:seasonal_naive_forecast", "rnn_course.forecasting:persistence_forecast"))
        check_shape(got, (6, 1), "预测", "每个窗口一个预测：X[:, -m, :1] 保留最后一维")
        if _close(got, X[:, -m, :1], 1e-12):
            continue
        if m > 1 and _close(got, X[:, -m + 1, :1], 1e-12):
            raise AssertionError(f"m = {m} 时差了一步（off-by-one）：一个季节之前是倒数第 m 个值 X[:, -m]")
        if m < 24 and _close(got, X[:, -m - 1, :1], 1e-12):
            raise AssertionError(f"m = {m} 时差了一步（off-by-one）：一个季节之前是倒数第 m 个值 X[:, -m]")
        if _close(got, X[:, m, :1], 1e-12):
            raise AssertionError(f"m = {m} 时从窗口开头数了：最新的值在最后，应取 X[:, -m]")
        raise AssertionError(f"m = {m} 时季节朴素预测不对：x̂_{{t+1}} = x_{{t+1−m}} = X[:, -m]")


def check_fit_ar(fn) -> None:
    """``fn(x, p)`` → least-squares [c, φ_1, …, φ_p] with φ_1 on the most recent value."""
    g = _rng(10)
    x = np.zeros(200)
    for t in range(3, 200):
        x[t] = 0.5 + 0.6 * x[t - 1] - 0.3 * x[t - 2] + 0.1 * x[t - 3] + g.standard_normal()
    p = 3

    def fit(rows):
        return np.linalg.lstsq(np.array(rows), x[p:], rcond=None)[0]

    got = np.asarray(_call(fn, [x.copy(), p], "fit_ar", forbidden=_package("rnn_course.forecasting:fit_linear_ar")),
                     dtype=np.float64)
    check_shape(got, (p + 1,), "系数", "p + 1 个：[c, φ_1, …, φ_p]")
    want = fit([np.concatenate([[1.0], x[t - p:t][::-1]]) for t in range(p, len(x))])
    if _close(got, want, 1e-6):
        return
    if _close(got, fit([np.concatenate([[1.0], x[t - p:t]]) for t in range(p, len(x))]), 1e-6):
        raise AssertionError("滞后的顺序反了：每行是 [1, x_{t−1}, x_{t−2}, …]，最近的值在前（φ_1 乘 x_{t−1}）")
    raise AssertionError("系数不对：每行 [1, x_{t−1}, …, x_{t−p}]，目标 x_t，t = p … n−1")


def check_pad_and_lengths(fn) -> None:
    """``fn(sequences, pad_id=0)`` → (ids int64 (batch, longest), lengths int64 (batch,))."""
    seqs = [[5, 3, 9], [7], [2, 2, 2, 2, 4]]
    out = _call(fn, [[list(s) for s in seqs]], "pad_and_lengths", forbidden=_package("rnn_course.data:pad_batch"))
    ids, lengths = _outputs(out, 2, "pad_and_lengths", ["ids", "lengths"])
    check_shape(ids, (3, 5), "ids", "(batch, 最长序列的长度)")
    check_equal(np.asarray(ids).dtype, np.dtype(np.int64), "ids 应为 int64")
    want = np.array([[5, 3, 9, 0, 0], [7, 0, 0, 0, 0], [2, 2, 2, 2, 4]])
    if np.array_equal(ids, np.array([[0, 0, 5, 3, 9], [0, 0, 0, 0, 7], [2, 2, 2, 2, 4]])):
        raise AssertionError("补在了左边：真实编号在左侧，右侧补 pad_id")
    check_true(np.array_equal(ids, want), "补齐位置应为 pad_id，真实编号在左侧")
    check_true(np.array_equal(lengths, [3, 1, 5]) and np.asarray(lengths).dtype == np.int64,
               "lengths 应为每条序列的真实长度（int64）")
    padded = _outputs(_call(fn, [[[1, 2], [3]], 9], "pad_and_lengths"), 2, "pad_and_lengths", ["ids", "lengths"])[0]
    check_true(np.array_equal(padded, [[1, 2], [3, 9]]), "应使用参数 pad_id 补齐（pad_and_lengths([[1, 2], [3]], 9)）")


def check_forget_bias(fn) -> None:
    """``fn(cell, value)`` sets the total forget-gate bias of a ``paddle.nn.LSTMCell`` to ``value``."""
    import paddle

    cell = paddle.nn.LSTMCell(3, 5)
    g = _rng(2)
    cell.bias_ih.set_value(g.uniform(-0.5, 0.5, 20).astype("float32"))
    cell.bias_hh.set_value(g.uniform(-0.5, 0.5, 20).astype("float32"))
    before = cell.bias_ih.numpy() + cell.bias_hh.numpy()
    _call(fn, [cell, 2.5], "set_forget_bias_by_hand", forbidden=_package("rnn_course.gradients:set_forget_bias"))
    after = cell.bias_ih.numpy() + cell.bias_hh.numpy()
    others = np.r_[after[:5], after[10:]]
    if _close(after[5:10], np.full(5, 2.5), 1e-6) and _close(others, np.r_[before[:5], before[10:]], 1e-6):
        return
    if _close(after[:5], np.full(5, 2.5), 1e-6) or _close(after[10:15], np.full(5, 2.5), 1e-6):
        raise AssertionError("改错了块：遗忘门是第 2 块 [H:2H]（顺序 i, f, g, o）")
    if _close(cell.bias_ih.numpy()[5:10], np.full(5, 2.5), 1e-6):
        raise AssertionError("遗忘门的总偏置是 bias_ih + bias_hh：只改 bias_ih 时要把 bias_hh 的这一块置 0")
    check_close(after[5:10], np.full(5, 2.5), "遗忘门的总偏置不等于 2.5：它是第 2 块（顺序 i, f, g, o），两个偏置要加起来算")
    check_close(np.r_[after[:5], after[10:]], np.r_[before[:5], before[10:]], "其他门的偏置被改动了")


def _own_references() -> list:
    """This module's reference formulas: calling them from a learner's function is a shortcut."""
    return [_rnn_step, _lstm_step, _gru_step, _bptt_reference, _jacobian, _clip_reference, _sampling_reference,
            bigram_reference, clipped_matches_reference, _attention, _masked_ce_reference,
            lstm_param_count_reference]
