"""Hand-written BPTT equals Paddle autograd and finite differences; clipping equals Paddle's;
per-step gradient norms, truncation, spectral radius and initialisation helpers behave as stated."""

import numpy as np
import paddle
import pytest

from rnn_course import gradients as G
from rnn_course.errors import CourseError


def _problem(mode, batch=3, seq_len=5, inputs=2, hidden_size=4, outputs=2, seed=0):
    rng = np.random.default_rng(seed)
    params = G.init_rnn_params(inputs, hidden_size, outputs, seed=seed + 1)
    xs = rng.standard_normal((batch, seq_len, inputs))
    shape = (batch, outputs) if mode == "many_to_one" else (batch, seq_len, outputs)
    return params, xs, rng.standard_normal(shape)


@pytest.mark.parametrize("mode", G.MODES)
def test_bptt_equals_paddle_autograd(mode):
    params, xs, y = _problem(mode)
    loss, grads, _ = G.rnn_bptt(params, xs, y, mode)
    paddle_loss, paddle_grads = G.paddle_rnn_grads(params, xs, y, mode)
    assert abs(loss - paddle_loss) <= 1e-12
    for name in G.PARAM_NAMES:
        assert grads[name].shape == params[name].shape
        np.testing.assert_allclose(grads[name], paddle_grads[name], rtol=0, atol=1e-10, err_msg=name)


@pytest.mark.parametrize("mode", G.MODES)
def test_bptt_equals_finite_differences(mode):
    params, xs, y = _problem(mode, seed=3)
    errors = G.gradient_check(params, xs, y, mode)
    assert set(errors) == set(G.PARAM_NAMES)
    assert max(errors.values()) <= 1e-6, errors


def test_gradient_check_detects_a_wrong_gradient():
    params, xs, y = _problem("many_to_one")
    _, grads, _ = G.rnn_bptt(params, xs, y)
    numeric = G.numerical_gradient(lambda: G.rnn_loss(params, xs, y), params["W_hh"])
    assert G.relative_error(grads["W_hh"], numeric) <= 1e-6
    assert G.relative_error(grads["W_hh"] * 1.01, numeric) > 1e-3  # a 1 % error is caught


def test_bptt_dh_is_the_gradient_wrt_hidden_states():
    params, xs, y = _problem("many_to_many", seq_len=4)
    _, _, dh = G.rnn_bptt(params, xs, y, "many_to_many")
    # ∂L/∂h_0 from BPTT equals finite differences with respect to an initial state
    h0 = np.zeros((3, 4))
    _, grads, _ = G.rnn_bptt(params, xs, y, "many_to_many", h0=h0)
    numeric = G.numerical_gradient(lambda: G.rnn_loss(params, xs, y, "many_to_many", h0=h0), h0)
    assert G.relative_error(grads["h0"], numeric) <= 1e-6
    assert dh.shape == (4, 3, 4)


def test_numerical_gradient_of_a_known_function():
    x = np.array([1.0, -2.0, 0.5])
    g = G.numerical_gradient(lambda: float(np.sum(x ** 3)), x)
    np.testing.assert_allclose(g, 3 * np.array([1.0, 4.0, 0.25]), atol=1e-6)
    np.testing.assert_array_equal(x, [1.0, -2.0, 0.5])  # restored


def test_bad_mode_and_targets_raise_clear_errors():
    params, xs, y = _problem("many_to_one")
    with pytest.raises(CourseError, match="mode"):
        G.rnn_bptt(params, xs, y, "one_to_many")
    with pytest.raises(CourseError, match="targets"):
        G.rnn_bptt(params, xs, y, "many_to_many")


def test_hidden_grad_norms_match_numpy_bptt():
    """Per-step ‖∂L/∂h_t‖ from Paddle autograd equals δ_t from the NumPy BPTT (float64)."""
    params, xs, _ = _problem("many_to_one", batch=2, seq_len=6, hidden_size=4, outputs=1)
    paddle.set_default_dtype("float64")
    try:
        cell = paddle.nn.SimpleRNNCell(2, 4)
    finally:
        paddle.set_default_dtype("float32")
    for name, key in (("weight_ih", "W_ih"), ("weight_hh", "W_hh"), ("bias_ih", "b_ih"), ("bias_hh", "b_hh")):
        getattr(cell, name).set_value(params[key])
    # loss = sum(h_T) equals a read-out W_hy = 1, b_y = 0 and targets chosen so that ∂L/∂y = 1
    params = dict(params, W_hy=np.ones((4, 1)), b_y=np.zeros(1))
    _, ys = G.rnn_forward_readout(params, xs)
    y = ys[:, -1] - 0.5 * ys[:, -1].size  # mean((y−t)²) has ∂/∂y = 2(y−t)/n = 1
    _, _, dh = G.rnn_bptt(params, xs, y)
    expected = np.linalg.norm(dh, axis=-1).mean(axis=1)  # (time,)
    h0 = paddle.zeros([2, 4], dtype="float64")  # the cell's default state would be float32
    np.testing.assert_allclose(G.hidden_grad_norms(cell, xs, state=h0), expected, rtol=1e-9)


def test_truncated_bptt_cuts_the_gradient():
    paddle.seed(0)
    cell = paddle.nn.SimpleRNNCell(1, 8)
    xs = np.random.default_rng(0).standard_normal((4, 12, 1)).astype("float32")
    full = G.hidden_grad_norms(cell, xs)
    cut = G.hidden_grad_norms(cell, xs, detach_every=5)
    assert np.all(full > 0)
    np.testing.assert_array_equal(cut[:9], 0.0)  # h_1..h_9 are behind the last cut (before step 11)
    np.testing.assert_allclose(cut[10:], full[10:], rtol=1e-6)


def test_lstm_forget_bias_keeps_gradient_alive():
    paddle.seed(0)
    cell = paddle.nn.LSTMCell(1, 16)
    xs = np.random.default_rng(0).standard_normal((8, 60, 1)).astype("float32")
    default = G.hidden_grad_norms(cell, xs)
    assert G.set_forget_bias(cell, 3.0) == 2
    b = cell.bias_ih.numpy() + cell.bias_hh.numpy()
    np.testing.assert_allclose(b[16:32], 3.0)
    biased = G.hidden_grad_norms(cell, xs)
    assert biased[0] / biased[-1] > 100 * default[0] / default[-1]
    layer = paddle.nn.LSTM(1, 4, num_layers=2)
    assert G.set_forget_bias(layer, 1.0) == 4
    with pytest.raises(CourseError, match="LSTM"):
        G.set_forget_bias(paddle.nn.Linear(2, 2), 1.0)


def test_spectral_radius_and_jacobian_norms():
    rng = np.random.default_rng(0)
    W = G.scale_spectral_radius(rng.standard_normal((6, 6)), 0.7)
    assert abs(np.max(np.abs(np.linalg.eigvals(W))) - 0.7) < 1e-12
    # linear regime (h ≈ 0): ‖∂h_T/∂h_t‖ equals ‖W^{T−t}‖
    hs = np.zeros((5, 6))
    norms = G.rnn_jacobian_norms(hs, W)
    assert norms[-1] == 1.0
    np.testing.assert_allclose(norms[0], np.linalg.norm(np.linalg.matrix_power(W, 3), 2))
    with pytest.raises(CourseError):
        G.scale_spectral_radius(np.zeros((3, 3)), 1.0)


def test_jacobian_norms_match_autograd():
    """The Jacobian product of a tanh RNN equals the autograd Jacobian ∂h_T/∂h_t (one sample)."""
    params = G.init_rnn_params(2, 3, seed=5)
    xs = np.random.default_rng(1).standard_normal((1, 4, 2))
    hs, _ = G.rnn_forward_readout(params, xs)
    norms = G.rnn_jacobian_norms(hs[:, 0], params["W_hh"])
    # autograd: build ∂h_T/∂h_1 column by column with NumPy BPTT (readout = e_k, many-to-one)
    J = np.zeros((3, 3))
    for k in range(3):
        p = dict(params, W_hy=np.eye(3)[:, [k]], b_y=np.zeros(1))
        _, ys = G.rnn_forward_readout(p, xs)
        y = ys[:, -1] - 0.5  # ∂L/∂y = 2(y − t)/1 = 1
        _, _, dh = G.rnn_bptt(p, xs, y)
        J[k] = dh[0, 0]
    np.testing.assert_allclose(norms[0], np.linalg.norm(J, 2), rtol=1e-10)


def test_clip_by_global_norm_equals_paddle():
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal((3, 4)).astype("float32") * 5, rng.standard_normal(7).astype("float32")]
    params = [paddle.create_parameter(list(g.shape), "float32") for g in grads]
    for max_norm in (0.5, 1.0, 1e3):  # the last one leaves the gradients unchanged
        clipped = paddle.nn.ClipGradByGlobalNorm(max_norm)(
            list(zip(params, [paddle.to_tensor(g) for g in grads], strict=True)))
        mine, norm = G.clip_by_global_norm(grads, max_norm)
        assert abs(norm - np.sqrt(sum((g.astype(np.float64) ** 2).sum() for g in grads))) < 1e-9
        for (_, expected), actual in zip(clipped, mine, strict=True):
            np.testing.assert_allclose(actual, expected.numpy(), rtol=0, atol=1e-6)
        assert abs(G.global_norm(mine) - min(norm, max_norm)) < 1e-4
    with pytest.raises(CourseError):
        G.clip_by_global_norm(grads, 0.0)


def test_identity_init_makes_an_irnn():
    paddle.seed(0)
    rnn = paddle.nn.SimpleRNN(2, 5, activation="relu")
    G.identity_init(rnn)
    np.testing.assert_array_equal(rnn.weight_hh_l0.numpy(), np.eye(5))
    np.testing.assert_array_equal(rnn.bias_hh_l0.numpy(), 0.0)
    assert np.abs(rnn.weight_ih_l0.numpy()).max() < 0.01
    with pytest.raises(CourseError):
        G.identity_init(paddle.nn.Linear(2, 2))


def test_hidden_grad_norms_agree_with_retain_grads_for_lstm():
    """An independent route to ∂L/∂h_t: keep every h_t's .grad after loss.backward()."""
    paddle.seed(1)
    cell = paddle.nn.LSTMCell(3, 6)
    xs = np.random.default_rng(2).standard_normal((5, 9, 3)).astype("float32")
    state, hs = None, []
    x = paddle.to_tensor(xs)
    for t in range(9):
        h, state = cell(x[:, t], state)
        h.retain_grads()
        hs.append(h)
    hs[-1].sum().backward()
    expected = [np.linalg.norm(h.grad.numpy(), axis=-1).mean() for h in hs]
    np.testing.assert_allclose(G.hidden_grad_norms(cell, xs), expected, rtol=1e-5)


def test_truncation_detaches_both_lstm_states():
    paddle.seed(0)
    cell = paddle.nn.LSTMCell(2, 4)
    xs = np.random.default_rng(0).standard_normal((3, 10, 2)).astype("float32")
    cut = G.hidden_grad_norms(cell, xs, detach_every=4)
    np.testing.assert_array_equal(cut[:7], 0.0)  # neither h nor c carries gradient across the cut at step 8
    assert np.all(cut[8:] > 0)
