"""Gradients of recurrent networks: backpropagation through time (BPTT) by hand, gradient checks,
per-step gradient norms, gradient clipping and initialisations that keep gradients alive.

* :func:`rnn_bptt` — forward + hand-written BPTT in NumPy for a tanh RNN with a linear read-out,
  many-to-one (loss on the last step) or many-to-many (loss on every step);
  :func:`paddle_rnn_grads` computes the same gradients with ``paddle.nn.SimpleRNN`` + autograd, and
  :func:`numerical_gradient` with central finite differences.
* :func:`hidden_grad_norms` — ‖∂L/∂h_t‖ for every step t of any cell (Paddle autograd), optionally
  with truncated BPTT (``detach_every``).
* :func:`rnn_jacobian_norms` — the product of step Jacobians ∂h_T/∂h_t that BPTT multiplies.
* :func:`clip_by_global_norm` — the rule of ``paddle.nn.ClipGradByGlobalNorm``, written out.
* :func:`scale_spectral_radius`, :func:`set_forget_bias` (LSTM), :func:`identity_init` (IRNN) —
  initialisations that keep gradients alive (derived in chapter 02 and 03).

Shapes: ``xs`` (batch, time, input); recurrent weights in Paddle's layout (``W_ih`` (H, input),
``W_hh`` (H, H), applied as ``x @ W.T``); the read-out in ``paddle.nn.Linear``'s layout
(``W_hy`` (H, output), applied as ``h @ W_hy``). Losses are ``paddle.nn.functional.mse_loss``
(mean over every predicted number).
"""

from __future__ import annotations

import numpy as np
import paddle

from rnn_course.errors import CourseError
from rnn_course.runtime import shift_seed

MODES = ("many_to_one", "many_to_many")
PARAM_NAMES = ("W_ih", "W_hh", "b_ih", "b_hh", "W_hy", "b_y")


def _check_mode(mode: str) -> str:
    if mode not in MODES:
        raise CourseError(f"unknown mode {mode!r}: choose 'many_to_one' or 'many_to_many'")
    return mode


def init_rnn_params(input_size: int, hidden_size: int, output_size: int = 1, seed=0,
                    dtype=np.float64) -> dict:
    """Random parameters for :func:`rnn_bptt`, drawn like Paddle's default (Uniform ±1/√H)."""
    rng = np.random.default_rng(shift_seed(seed))
    bound = 1.0 / np.sqrt(hidden_size)

    def u(*shape):
        return rng.uniform(-bound, bound, size=shape).astype(dtype)

    return {"W_ih": u(hidden_size, input_size), "W_hh": u(hidden_size, hidden_size),
            "b_ih": u(hidden_size), "b_hh": u(hidden_size),
            "W_hy": u(hidden_size, output_size), "b_y": u(output_size)}


def rnn_forward_readout(params: dict, xs, h0=None):
    """Forward pass of a tanh RNN with a linear read-out at every step.

    Returns (hs (time+1, batch, hidden) with hs[0] = h0, ys (batch, time, output)).
    """
    xs = np.asarray(xs)
    if xs.ndim != 3:
        raise CourseError(f"xs must have shape (batch, time, input), got {xs.shape}")
    batch, seq_len, _ = xs.shape
    hidden_size = params["W_hh"].shape[0]
    h = np.zeros((batch, hidden_size), dtype=xs.dtype) if h0 is None else np.asarray(h0)
    hs = [h]
    for t in range(seq_len):
        h = np.tanh(xs[:, t] @ params["W_ih"].T + params["b_ih"] + h @ params["W_hh"].T + params["b_hh"])
        hs.append(h)
    hs = np.stack(hs)  # (time+1, batch, hidden)
    ys = np.einsum("tbh,ho->bto", hs[1:], params["W_hy"]) + params["b_y"]  # (batch, time, output)
    return hs, ys


def rnn_loss(params: dict, xs, targets, mode: str = "many_to_one", h0=None) -> float:
    """MSE loss of :func:`rnn_forward_readout` — targets (batch, output) or (batch, time, output)."""
    _check_mode(mode)
    _, ys = rnn_forward_readout(params, xs, h0)
    pred = ys[:, -1] if mode == "many_to_one" else ys
    _check_targets(pred, targets)
    return float(np.mean((pred - targets) ** 2))


def _check_targets(pred, targets):
    if np.shape(targets) != pred.shape:
        raise CourseError(f"targets must have shape {pred.shape}, got {np.shape(targets)}")


def rnn_bptt(params: dict, xs, targets, mode: str = "many_to_one", h0=None):
    """Loss and gradients of a tanh RNN by hand-written backpropagation through time.

    Forward: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh), y_t = h_t W_hy + b_y,
    L = mean((y - target)^2) over y_T (many-to-one) or over every y_t (many-to-many).

    Backward, from t = T down to 1, with δ_t = ∂L/∂h_t (total: from y_t and from h_{t+1}):
        a_t = (1 − h_t²) ⊙ δ_t                      (through tanh)
        ∂L/∂W_ih += a_t^T x_t,  ∂L/∂W_hh += a_t^T h_{t-1},  ∂L/∂b_ih = ∂L/∂b_hh += Σ_batch a_t
        δ_{t-1} = a_t W_hh + (read-out term at t−1)

    Returns (loss, grads, dh) — grads maps the names of ``params`` to arrays of the same shapes
    (plus ``"h0"``), dh (time, batch, hidden) holds δ_t for t = 1..T.
    """
    _check_mode(mode)
    xs = np.asarray(xs)
    hs, ys = rnn_forward_readout(params, xs, h0)
    seq_len = xs.shape[1]
    pred = ys[:, -1] if mode == "many_to_one" else ys
    _check_targets(pred, targets)
    diff = pred - targets
    loss = float(np.mean(diff ** 2))
    dpred = 2.0 * diff / diff.size  # ∂L/∂y
    dys = np.zeros_like(ys)  # (batch, time, output)
    if mode == "many_to_one":
        dys[:, -1] = dpred
    else:
        dys[:] = dpred
    grads = {name: np.zeros_like(params[name]) for name in PARAM_NAMES}
    grads["W_hy"] = np.einsum("tbh,bto->ho", hs[1:], dys)
    grads["b_y"] = dys.sum(axis=(0, 1))
    dh = np.zeros((seq_len,) + hs.shape[1:], dtype=hs.dtype)  # (time, batch, hidden)
    carry = np.zeros_like(hs[0])  # ∂L/∂h_t arriving from step t+1
    for t in range(seq_len, 0, -1):
        delta = dys[:, t - 1] @ params["W_hy"].T + carry  # δ_t = ∂L/∂h_t
        dh[t - 1] = delta
        a = (1.0 - hs[t] ** 2) * delta  # ∂L/∂(pre-activation)
        grads["W_ih"] += a.T @ xs[:, t - 1]
        grads["W_hh"] += a.T @ hs[t - 1]
        grads["b_ih"] += a.sum(axis=0)
        carry = a @ params["W_hh"]
    grads["b_hh"] = grads["b_ih"].copy()
    grads["h0"] = carry
    return loss, grads, dh


def numerical_gradient(f, x, eps: float = 1e-6):
    """Central finite differences (f(x + ε e_i) − f(x − ε e_i)) / 2ε for every entry of the NumPy
    array ``x`` (changed in place and restored); ``f()`` returns a scalar."""
    grad = np.zeros_like(x, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + eps
        plus = f()
        x[i] = old - eps
        minus = f()
        x[i] = old
        grad[i] = (plus - minus) / (2 * eps)
    return grad


def relative_error(a, b) -> float:
    """‖a − b‖ / max(‖a‖ + ‖b‖, 1e-300): 0 for identical arrays, ~1 for unrelated ones."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-300))


def gradient_check(params: dict, xs, targets, mode: str = "many_to_one", eps: float = 1e-6) -> dict:
    """Relative error between :func:`rnn_bptt` and finite differences, per parameter (float64)."""
    params = {k: np.array(v, dtype=np.float64) for k, v in params.items()}
    xs = np.asarray(xs, dtype=np.float64)
    _, grads, _ = rnn_bptt(params, xs, targets, mode)
    errors = {}
    for name in PARAM_NAMES:
        numeric = numerical_gradient(lambda: rnn_loss(params, xs, targets, mode), params[name], eps)
        errors[name] = relative_error(grads[name], numeric)
    return errors


def paddle_rnn_grads(params: dict, xs, targets, mode: str = "many_to_one"):
    """The same loss and gradients from ``paddle.nn.SimpleRNN`` + ``paddle.nn.Linear`` + autograd,
    in float64. Returns (loss, grads) with the names of :func:`rnn_bptt`."""
    _check_mode(mode)
    previous = paddle.get_default_dtype()
    paddle.set_default_dtype("float64")
    try:
        hidden_size, input_size = params["W_ih"].shape
        rnn = paddle.nn.SimpleRNN(input_size, hidden_size)
        head = paddle.nn.Linear(hidden_size, params["W_hy"].shape[1])
    finally:
        paddle.set_default_dtype(previous)
    mapping = {"W_ih": rnn.weight_ih_l0, "W_hh": rnn.weight_hh_l0, "b_ih": rnn.bias_ih_l0,
               "b_hh": rnn.bias_hh_l0, "W_hy": head.weight, "b_y": head.bias}
    for name, p in mapping.items():
        p.set_value(np.asarray(params[name], dtype=np.float64))
    outputs, _ = rnn(paddle.to_tensor(np.asarray(xs, dtype=np.float64)))  # (batch, time, hidden)
    ys = head(outputs)  # (batch, time, output)
    pred = ys[:, -1] if mode == "many_to_one" else ys
    loss = paddle.nn.functional.mse_loss(pred, paddle.to_tensor(np.asarray(targets, dtype=np.float64)))
    loss.backward()
    return loss.item(), {name: p.grad.numpy() for name, p in mapping.items()}


# --------------------------------------------------------------------------------------------
# Gradient flow through time
# --------------------------------------------------------------------------------------------
def scale_spectral_radius(W, radius: float):
    """Return W rescaled so that its spectral radius (largest |eigenvalue|) equals ``radius``."""
    W = np.asarray(W)
    current = np.max(np.abs(np.linalg.eigvals(W)))
    if current == 0:
        raise CourseError("cannot rescale a matrix whose eigenvalues are all zero")
    return (W * (radius / current)).astype(W.dtype)


def unroll_cell(cell, xs, state=None, detach_every: int | None = None):
    """Run any Paddle cell step by step over xs (batch, time, input) tensor.

    Returns (list of h_t tensors, each (batch, hidden), final state). With ``detach_every = k`` the
    state is cut from the graph (``detach()``) after every k steps — truncated BPTT: gradients then
    flow back at most k steps.
    """
    hs = []
    for t in range(xs.shape[1]):
        if detach_every and t > 0 and t % detach_every == 0 and state is not None:
            state = _detach(state)
        h, state = cell(xs[:, t], state)
        hs.append(h)
    return hs, state


def _detach(state):
    if isinstance(state, (tuple, list)):
        return type(state)(s.detach() for s in state)
    return state.detach()


def hidden_grad_norms(cell, xs, loss_fn=None, state=None, detach_every: int | None = None):
    """‖∂L/∂h_t‖ for t = 1..T (Paddle autograd), for any cell called as ``cell(x_t, state)``.

    ``loss_fn(h_T) -> scalar`` defaults to ``h_T.sum()``, a loss that reads only the last hidden
    state, so that the gradient at h_t has travelled T − t steps. ``xs`` is a NumPy array or tensor
    (batch, time, input); the norm of each sample's gradient is averaged over the batch (samples do
    not interact). Returns a NumPy array of length T; entry t−1 belongs to h_t.
    """
    xs = paddle.to_tensor(xs) if not isinstance(xs, paddle.Tensor) else xs
    hs, _ = unroll_cell(cell, xs, state, detach_every)
    loss = hs[-1].sum() if loss_fn is None else loss_fn(hs[-1])
    grads = paddle.grad(loss, hs, allow_unused=True)
    norms = []
    for g, h in zip(grads, hs, strict=True):
        g = paddle.zeros_like(h) if g is None else g
        norms.append(paddle.linalg.norm(g, axis=-1).mean().item())  # per sample, then batch mean
    return np.asarray(norms)


def rnn_jacobian_norms(hs, W_hh):
    """Spectral norms of ∂h_T/∂h_t = Π_{k=t+1..T} diag(1 − h_k²) W_hh for a tanh RNN (one sample).

    ``hs`` (time+1, hidden) with hs[0] = h0 (NumPy). Returns an array of length T whose entry t−1 is
    ‖∂h_T/∂h_t‖₂ (entry T−1 is 1, the identity).
    """
    hs = np.asarray(hs, dtype=np.float64)
    seq_len, hidden_size = hs.shape[0] - 1, hs.shape[1]
    J = np.eye(hidden_size)
    norms = np.zeros(seq_len)
    norms[seq_len - 1] = 1.0
    for t in range(seq_len - 1, 0, -1):  # multiply in the Jacobian of step t+1: ∂h_{t+1}/∂h_t
        J = J @ ((1.0 - hs[t + 1] ** 2)[:, None] * W_hh)
        norms[t - 1] = np.linalg.norm(J, 2)
    return norms


# --------------------------------------------------------------------------------------------
# Clipping and initialisation
# --------------------------------------------------------------------------------------------
def global_norm(grads) -> float:
    """√(Σ_i ‖g_i‖²) over a list of gradient arrays or tensors."""
    total = 0.0
    for g in grads:
        g = g.numpy() if hasattr(g, "numpy") else np.asarray(g)
        total += float(np.sum(np.asarray(g, dtype=np.float64) ** 2))
    return float(np.sqrt(total))


def clip_by_global_norm(grads, max_norm: float):
    """Scale every gradient by max_norm / max(global_norm, max_norm) — the rule of
    ``paddle.nn.ClipGradByGlobalNorm``. Returns (clipped NumPy arrays, global norm before clipping)."""
    if max_norm <= 0:
        raise CourseError(f"max_norm must be positive, got {max_norm}")
    arrays = [g.numpy() if hasattr(g, "numpy") else np.asarray(g) for g in grads]
    norm = global_norm(arrays)
    scale = max_norm / max(norm, max_norm)
    return [(a * scale).astype(a.dtype) for a in arrays], norm


def set_forget_bias(layer, value: float) -> int:
    """Set an LSTM's (``paddle.nn.LSTM`` or ``LSTMCell``) forget-gate bias to ``value``, in place.

    Paddle adds ``bias_ih`` and ``bias_hh``; the forget gate is the second quarter (order i, f, g, o).
    We put ``value`` in ``bias_ih`` and 0 in ``bias_hh`` so the sum is exactly ``value``.
    Returns the number of bias vectors changed.
    """
    changed = 0
    for name, p in layer.named_parameters():
        if "bias_ih" in name or "bias_hh" in name:
            hidden_size = p.shape[0] // 4
            b = p.numpy().copy()
            b[hidden_size:2 * hidden_size] = value if "bias_ih" in name else 0.0
            p.set_value(b)
            changed += 1
    if changed == 0:
        raise CourseError("set_forget_bias needs an LSTM layer or cell with bias_ih/bias_hh")
    return changed


def identity_init(layer, input_std: float = 1e-3, seed: int = 0) -> None:
    """IRNN initialisation (Le, Jaitly & Hinton 2015) of a SimpleRNN/SimpleRNNCell, in place:
    W_hh = I, biases 0, W_ih ~ N(0, input_std²) drawn with ``seed``. Use it with ``activation="relu"``."""
    rng = np.random.default_rng(shift_seed(seed))
    found = False
    for name, p in layer.named_parameters():
        if "weight_hh" in name:
            p.set_value(np.eye(p.shape[0], p.shape[1], dtype=np.float32))
            found = True
        elif "weight_ih" in name:
            p.set_value((rng.standard_normal(p.shape) * input_std).astype(np.float32))
        elif "bias" in name:
            p.set_value(np.zeros(p.shape, dtype=np.float32))
    if not found:
        raise CourseError("identity_init needs a layer with a recurrent weight 'weight_hh'")
