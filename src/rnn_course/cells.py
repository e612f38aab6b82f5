"""Recurrent cells from scratch, with exactly Paddle's parameter layout.

Two implementations of the same formulas:

* NumPy functions (``rnn_step``, ``lstm_step``, ``gru_step`` and whole-sequence forwards) — the
  algorithm in plain sight, used to prove equality with ``paddle.nn``;
* ``paddle.nn.Layer`` cells (``ScratchRNNCell`` …) built from the same formulas with Paddle ops, so
  autograd gives BPTT for free and we can train them "by hand".

Layout (as in ``paddle.nn.SimpleRNNCell/LSTMCell/GRUCell``): ``weight_ih`` has shape (G·H, input),
``weight_hh`` (G·H, H), ``bias_ih`` and ``bias_hh`` (G·H,); both biases are added and inputs are
multiplied as ``x @ W.T``. Gate order: LSTM ``i, f, g, o``; GRU ``r, z, c``. Weights copied from a
Paddle cell plug in unchanged.
"""

from __future__ import annotations

import math

import numpy as np

from rnn_course.errors import CourseError

CELL_TYPES = ("rnn", "lstm", "gru")
GATES = {"rnn": 1, "lstm": 4, "gru": 3}


def check_cell_type(cell_type: str) -> str:
    """Return the normalised cell name or raise a clear error."""
    name = str(cell_type).lower()
    aliases = {"simplernn": "rnn", "simple_rnn": "rnn", "vanilla": "rnn"}
    name = aliases.get(name, name)
    if name not in CELL_TYPES:
        raise CourseError(f"unknown cell type {cell_type!r}: choose one of {', '.join(CELL_TYPES)}")
    return name


def sigmoid(x):
    """Numerically stable logistic function."""
    x = np.asarray(x)
    out = np.empty_like(x, dtype=np.result_type(x, np.float32))
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    ex = np.exp(x[~pos])
    out[~pos] = ex / (1.0 + ex)
    return out


def check_step_shapes(gates: int, x, h, W_ih, W_hh, b_ih, b_hh, c=None):
    """Raise a CourseError naming the argument whose shape does not fit one cell step.

    x (B, I), h (B, H) [, c (B, H)], W_ih (G·H, I), W_hh (G·H, H), b_ih and b_hh (G·H,). NumPy would
    otherwise broadcast a (B, 1) state or a batch-1 ``x`` silently and return a wrong answer.
    """
    named = {"x": x, "h": h, "W_ih": W_ih, "W_hh": W_hh, "b_ih": b_ih, "b_hh": b_hh}
    if c is not None:
        named["c"] = c
    shapes = {name: np.shape(value) for name, value in named.items()}
    if len(shapes["x"]) != 2 or len(shapes["h"]) != 2:
        raise CourseError(f"x and h must be 2-D (batch, features), got x {shapes['x']} and h {shapes['h']}")
    (batch, inputs), hidden_size = shapes["x"], shapes["h"][1]
    rows = gates * hidden_size
    expected = {"h": (batch, hidden_size), "W_ih": (rows, inputs), "W_hh": (rows, hidden_size),
                "b_ih": (rows,), "b_hh": (rows,), "c": (batch, hidden_size)}
    for name, shape in shapes.items():
        if name != "x" and shape != expected[name]:
            raise CourseError(f"{name} has shape {shape}, expected {expected[name]} "
                              f"(batch {batch}, input {inputs}, hidden {hidden_size}, {gates} gate block(s))")


_ACTIVATIONS = {"tanh": np.tanh, "relu": lambda v: np.maximum(v, 0)}


def rnn_step(x, h, W_ih, W_hh, b_ih, b_hh, activation="tanh"):
    """One vanilla RNN step: h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh).

    x: (batch, input), h: (batch, hidden) -> (batch, hidden)
    """
    if activation not in _ACTIVATIONS:
        raise CourseError(f"unknown activation {activation!r}: choose 'tanh' or 'relu'")
    check_step_shapes(1, x, h, W_ih, W_hh, b_ih, b_hh)
    return _ACTIVATIONS[activation](x @ W_ih.T + b_ih + h @ W_hh.T + b_hh)


def lstm_step(x, h, c, W_ih, W_hh, b_ih, b_hh):
    """One LSTM step, gate order i, f, g, o. Returns (h_t, c_t), each (batch, hidden)."""
    check_step_shapes(4, x, h, W_ih, W_hh, b_ih, b_hh, c=c)
    gates = x @ W_ih.T + b_ih + h @ W_hh.T + b_hh  # (batch, 4·hidden)
    i, f, g, o = np.split(gates, 4, axis=-1)
    i, f, o = sigmoid(i), sigmoid(f), sigmoid(o)  # input, forget, output gates
    g = np.tanh(g)  # candidate cell state  \tilde c_t
    c_new = f * c + i * g  # additive cell path
    h_new = o * np.tanh(c_new)
    return h_new, c_new


def gru_step(x, h, W_ih, W_hh, b_ih, b_hh, reset_after=True):
    """One GRU step, gate order r, z, c; h_t = z ⊙ h_{t-1} + (1 − z) ⊙ h̃_t.

    reset_after=True  — Paddle/cuDNN form: h̃ = tanh(x W_ic^T + b_ic + r ⊙ (h W_hc^T + b_hc)).
    reset_after=False — Cho et al. 2014 / seed form: h̃ = tanh(x W_ic^T + b_ic + (r ⊙ h) W_hc^T + b_hc).
    """
    check_step_shapes(3, x, h, W_ih, W_hh, b_ih, b_hh)
    hidden_size = h.shape[-1]
    gi = x @ W_ih.T + b_ih  # (batch, 3·hidden)
    gh = h @ W_hh.T + b_hh  # (batch, 3·hidden)
    r = sigmoid(gi[:, :hidden_size] + gh[:, :hidden_size])  # reset gate
    z = sigmoid(gi[:, hidden_size : 2 * hidden_size] + gh[:, hidden_size : 2 * hidden_size])  # update gate
    if reset_after:
        h_tilde = np.tanh(gi[:, 2 * hidden_size :] + r * gh[:, 2 * hidden_size :])
    else:
        W_hc, b_hc = W_hh[2 * hidden_size :], b_hh[2 * hidden_size :]
        h_tilde = np.tanh(gi[:, 2 * hidden_size :] + (r * h) @ W_hc.T + b_hc)
    return z * h + (1.0 - z) * h_tilde


def cell_forward(cell_type, xs, W_ih, W_hh, b_ih, b_hh, state=None, lengths=None, **kwargs):
    """Unroll one cell over a batch of sequences (one layer, one direction).

    xs: (batch, time, input). ``state``: h0 (batch, hidden), or (h0, c0) for LSTM; zeros if None.
    ``lengths``: true length of each sequence — past it the output is 0 and the state is frozen,
    as with ``sequence_length=`` on Paddle's fused layers.
    Returns (outputs (batch, time, hidden), final state in the same form as ``state``).
    """
    cell_type = check_cell_type(cell_type)
    xs = np.asarray(xs)
    if xs.ndim != 3:
        raise CourseError(f"xs must have shape (batch, time, input), got {xs.shape}")
    batch, seq_len, _ = xs.shape
    hidden_size = W_hh.shape[1]
    if state is None:
        zeros = np.zeros((batch, hidden_size), dtype=xs.dtype)
        state = (zeros, zeros.copy()) if cell_type == "lstm" else zeros
    lengths = np.full(batch, seq_len) if lengths is None else np.asarray(lengths)
    outputs = np.zeros((batch, seq_len, hidden_size), dtype=xs.dtype)
    for t in range(seq_len):
        alive = (t < lengths)[:, None]  # (batch, 1): still inside the sequence?
        x = xs[:, t]
        if cell_type == "lstm":
            h, c = state
            h_new, c_new = lstm_step(x, h, c, W_ih, W_hh, b_ih, b_hh)
            state = (np.where(alive, h_new, h), np.where(alive, c_new, c))
            h_out = h_new
        else:
            h = state
            step = rnn_step if cell_type == "rnn" else gru_step
            h_out = step(x, h, W_ih, W_hh, b_ih, b_hh, **kwargs)
            state = np.where(alive, h_out, h)
        outputs[:, t] = np.where(alive, h_out, 0.0)
    return outputs, state


def rnn_forward(xs, W_ih, W_hh, b_ih, b_hh, h0=None, lengths=None, activation="tanh"):
    """Vanilla RNN over a sequence: returns (outputs (batch, time, hidden), h_T)."""
    return cell_forward("rnn", xs, W_ih, W_hh, b_ih, b_hh, h0, lengths, activation=activation)


def _reverse_within(xs, lengths):
    """Reverse each sequence inside its own length, leaving the padding where it is."""
    out = np.zeros_like(xs)
    for b, n in enumerate(lengths):
        out[b, :n] = xs[b, :n][::-1]
    return out


def layer_forward(cell_type, xs, params, num_layers=1, bidirectional=False, lengths=None, **kwargs):
    """A stacked (and optionally bidirectional) layer, like ``paddle.nn.SimpleRNN/LSTM/GRU``.

    ``params`` maps Paddle's parameter names (``weight_ih_l0``, ``bias_hh_l1_reverse`` …) to NumPy
    arrays — ``numpy_params(paddle_layer)`` produces it. Returns (outputs, final state) where the final
    h (and c) have shape (num_layers · directions, batch, hidden), indexed layer·directions + direction.
    """
    cell_type = check_cell_type(cell_type)
    xs = np.asarray(xs)
    batch, seq_len, _ = xs.shape
    lengths = np.full(batch, seq_len) if lengths is None else np.asarray(lengths)
    finals_h, finals_c = [], []
    layer_in = xs
    for k in range(num_layers):
        outs = []
        for suffix in ("", "_reverse")[: 2 if bidirectional else 1]:
            w = [params[f"{name}_l{k}{suffix}"] for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
            seq = _reverse_within(layer_in, lengths) if suffix else layer_in
            out, state = cell_forward(cell_type, seq, *w, lengths=lengths, **kwargs)
            outs.append(_reverse_within(out, lengths) if suffix else out)
            h, c = state if cell_type == "lstm" else (state, None)
            finals_h.append(h)
            finals_c.append(c)
        layer_in = np.concatenate(outs, axis=-1)  # (batch, time, directions·hidden)
    h_n = np.stack(finals_h)
    return layer_in, ((h_n, np.stack(finals_c)) if cell_type == "lstm" else h_n)


def numpy_params(layer) -> dict:
    """A Paddle layer's or cell's parameters as a dict of NumPy arrays, keyed by Paddle's names."""
    return {name: p.numpy() for name, p in layer.named_parameters()}


def count_parameters(layer) -> int:
    """Number of trainable scalars in a Paddle layer."""
    return int(sum(int(np.prod(p.shape)) for p in layer.parameters() if not p.stop_gradient))


# --------------------------------------------------------------------------------------------
# Paddle layers built from the same formulas (autograd does BPTT for us).
# --------------------------------------------------------------------------------------------
import paddle  # noqa: E402  (after the NumPy part, which needs no Paddle)
import paddle.nn.functional as F  # noqa: E402


class _ScratchCell(paddle.nn.Layer):
    """Holds ``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh`` with Paddle's shapes and init."""

    gates = 1

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        bound = 1.0 / math.sqrt(hidden_size)
        init = paddle.nn.initializer.Uniform(-bound, bound)
        rows = self.gates * hidden_size
        self.weight_ih = self.create_parameter([rows, input_size], default_initializer=init)
        self.weight_hh = self.create_parameter([rows, hidden_size], default_initializer=init)
        self.bias_ih = self.create_parameter([rows], is_bias=True, default_initializer=init)
        self.bias_hh = self.create_parameter([rows], is_bias=True, default_initializer=init)

    def _zeros(self, x):
        return paddle.zeros([x.shape[0], self.hidden_size], dtype=x.dtype)

    def _affine(self, x, h):
        # x W_ih^T + b_ih and h W_hh^T + b_hh, each (batch, gates·hidden)
        return (
            paddle.matmul(x, self.weight_ih, transpose_y=True) + self.bias_ih,
            paddle.matmul(h, self.weight_hh, transpose_y=True) + self.bias_hh,
        )


class ScratchRNNCell(_ScratchCell):
    """h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh); same call convention as SimpleRNNCell."""

    gates = 1

    def __init__(self, input_size, hidden_size, activation="tanh"):
        super().__init__(input_size, hidden_size)
        if activation not in ("tanh", "relu"):
            raise CourseError(f"unknown activation {activation!r}: choose 'tanh' or 'relu'")
        self.activation = activation

    def forward(self, x, h=None):
        h = self._zeros(x) if h is None else h
        gi, gh = self._affine(x, h)
        h_new = paddle.tanh(gi + gh) if self.activation == "tanh" else F.relu(gi + gh)
        return h_new, h_new


class ScratchLSTMCell(_ScratchCell):
    """LSTM cell, gates i, f, g, o; returns (h_t, (h_t, c_t)) like ``paddle.nn.LSTMCell``."""

    gates = 4

    def forward(self, x, state=None):
        h, c = (self._zeros(x), self._zeros(x)) if state is None else state
        gi, gh = self._affine(x, h)
        i, f, g, o = paddle.split(gi + gh, 4, axis=-1)
        c_new = F.sigmoid(f) * c + F.sigmoid(i) * paddle.tanh(g)
        h_new = F.sigmoid(o) * paddle.tanh(c_new)
        return h_new, (h_new, c_new)


class ScratchGRUCell(_ScratchCell):
    """GRU cell, gates r, z, c; ``reset_after`` as in :func:`gru_step`. Returns (h_t, h_t)."""

    gates = 3

    def __init__(self, input_size, hidden_size, reset_after=True):
        super().__init__(input_size, hidden_size)
        self.reset_after = reset_after

    def forward(self, x, h=None):
        h = self._zeros(x) if h is None else h
        gi, gh = self._affine(x, h)
        i_r, i_z, i_c = paddle.split(gi, 3, axis=-1)
        h_r, h_z, h_c = paddle.split(gh, 3, axis=-1)
        r = F.sigmoid(i_r + h_r)
        z = F.sigmoid(i_z + h_z)
        if self.reset_after:
            h_tilde = paddle.tanh(i_c + r * h_c)
        else:
            W_hc = self.weight_hh[2 * self.hidden_size :]
            b_hc = self.bias_hh[2 * self.hidden_size :]
            h_tilde = paddle.tanh(i_c + paddle.matmul(r * h, W_hc, transpose_y=True) + b_hc)
        h_new = z * h + (1.0 - z) * h_tilde
        return h_new, h_new


SCRATCH_CELLS = {"rnn": ScratchRNNCell, "lstm": ScratchLSTMCell, "gru": ScratchGRUCell}


def make_scratch_cell(cell_type, input_size, hidden_size, **kwargs):
    """``make_scratch_cell("gru", 8, 16)`` → a from-scratch cell with Paddle's layout."""
    return SCRATCH_CELLS[check_cell_type(cell_type)](input_size, hidden_size, **kwargs)


class Unrolled(paddle.nn.Layer):
    """Run any cell (scratch or ``paddle.nn.*Cell``) over (batch, time, input) with a Python loop.

    ``forward(x, state=None, sequence_length=None)`` → (outputs (batch, time, hidden), final state);
    with ``sequence_length`` the padded outputs are 0 and the final state is taken at each sequence's
    true last step, matching Paddle's fused layers.
    """

    def __init__(self, cell):
        super().__init__()
        self.cell = cell

    def forward(self, x, state=None, sequence_length=None):
        outputs = []
        for t in range(x.shape[1]):
            out, new_state = self.cell(x[:, t], state)
            if sequence_length is not None:
                alive = (sequence_length > t).astype(x.dtype).unsqueeze(-1)  # (batch, 1)
                out = out * alive
                if state is not None:
                    new_state = paddle.utils.map_structure(
                        lambda new, old, a=alive: a * new + (1 - a) * old, new_state, state
                    )
                else:
                    new_state = paddle.utils.map_structure(lambda new, a=alive: a * new, new_state)
            outputs.append(out)
            state = new_state
        return paddle.stack(outputs, axis=1), state
