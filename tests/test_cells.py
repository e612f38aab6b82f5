"""The from-scratch cells equal paddle.nn — one step, whole sequences, stacked, bidirectional,
with sequence_length — and the seed's reset-before GRU really differs."""

import numpy as np
import paddle
import pytest

from rnn_course import cells
from rnn_course.errors import CourseError
from rnn_course.models import LAYERS

TOL = 1e-5
PADDLE_CELLS = {"rnn": paddle.nn.SimpleRNNCell, "lstm": paddle.nn.LSTMCell, "gru": paddle.nn.GRUCell}


def _x(*shape, seed=1):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _cell_weights(cell):
    return [cell.weight_ih.numpy(), cell.weight_hh.numpy(), cell.bias_ih.numpy(), cell.bias_hh.numpy()]


@pytest.mark.parametrize("cell_type", ["rnn", "lstm", "gru"])
def test_numpy_step_equals_paddle_cell(cell_type):
    cell = PADDLE_CELLS[cell_type](5, 7)
    x, h, c = _x(4, 5), _x(4, 7, seed=2), _x(4, 7, seed=3)
    W = _cell_weights(cell)
    if cell_type == "lstm":
        out, (h_p, c_p) = cell(paddle.to_tensor(x), (paddle.to_tensor(h), paddle.to_tensor(c)))
        h_n, c_n = cells.lstm_step(x, h, c, *W)
        assert np.abs(c_n - c_p.numpy()).max() <= TOL
    else:
        out, h_p = cell(paddle.to_tensor(x), paddle.to_tensor(h))
        h_n = cells.rnn_step(x, h, *W) if cell_type == "rnn" else cells.gru_step(x, h, *W)
    assert np.abs(h_n - out.numpy()).max() <= TOL
    assert np.abs(h_n - h_p.numpy()).max() <= TOL


def test_relu_rnn_step_equals_paddle():
    cell = paddle.nn.SimpleRNNCell(5, 7, activation="relu")
    x, h = _x(4, 5), _x(4, 7, seed=2)
    out, _ = cell(paddle.to_tensor(x), paddle.to_tensor(h))
    assert np.abs(cells.rnn_step(x, h, *_cell_weights(cell), activation="relu") - out.numpy()).max() <= TOL


def test_reset_before_gru_differs_from_paddle():
    cell = paddle.nn.GRUCell(5, 7)
    x, h = _x(4, 5), _x(4, 7, seed=2)
    out, _ = cell(paddle.to_tensor(x), paddle.to_tensor(h))
    before = cells.gru_step(x, h, *_cell_weights(cell), reset_after=False)
    assert np.abs(before - out.numpy()).max() > 1e-2


@pytest.mark.parametrize("cell_type", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("num_layers,bidirectional", [(1, False), (2, False), (2, True)])
def test_layer_forward_equals_fused_layer(cell_type, num_layers, bidirectional):
    layer = LAYERS[cell_type](5, 6, num_layers=num_layers, direction="bidirect" if bidirectional else "forward")
    x = _x(3, 9, 5)
    lengths = np.array([9, 4, 1])
    out_p, state_p = layer(paddle.to_tensor(x), sequence_length=paddle.to_tensor(lengths))
    out_n, state_n = cells.layer_forward(cell_type, x, cells.numpy_params(layer), num_layers, bidirectional, lengths)
    assert out_n.shape == tuple(out_p.shape)
    assert np.abs(out_n - out_p.numpy()).max() <= TOL
    if cell_type == "lstm":
        for ours, theirs in zip(state_n, state_p, strict=True):
            assert np.abs(ours - theirs.numpy()).max() <= TOL
    else:
        assert np.abs(state_n - state_p.numpy()).max() <= TOL
    assert np.all(out_n[1, 4:] == 0) and np.all(out_n[2, 1:] == 0)  # padded outputs are zero


@pytest.mark.parametrize("cell_type", ["rnn", "lstm", "gru"])
def test_scratch_layer_cells_equal_paddle_cells(cell_type):
    theirs = PADDLE_CELLS[cell_type](5, 7)
    ours = cells.make_scratch_cell(cell_type, 5, 7)
    ours.set_state_dict(theirs.state_dict())
    x = paddle.to_tensor(_x(4, 5))
    out_a, _ = theirs(x)
    out_b, _ = ours(x)
    assert np.abs(out_a.numpy() - out_b.numpy()).max() <= TOL


@pytest.mark.parametrize("cell_type", ["rnn", "lstm", "gru"])
def test_unrolled_scratch_cell_equals_fused_layer_with_lengths(cell_type):
    layer = LAYERS[cell_type](5, 6)
    ours = cells.Unrolled(cells.make_scratch_cell(cell_type, 5, 6))
    ours.cell.set_state_dict({k[:-3]: v for k, v in layer.state_dict().items()})
    x = paddle.to_tensor(_x(3, 8, 5))
    lengths = paddle.to_tensor(np.array([8, 5, 2]))
    out_p, state_p = layer(x, sequence_length=lengths)
    out_s, state_s = ours(x, sequence_length=lengths)
    assert np.abs(out_p.numpy() - out_s.numpy()).max() <= TOL
    h_p = state_p[0] if cell_type == "lstm" else state_p
    h_s = state_s[0] if cell_type == "lstm" else state_s
    assert np.abs(h_p.numpy()[0] - h_s.numpy()).max() <= TOL


def test_scratch_gradients_equal_paddle_gradients():
    theirs = paddle.nn.GRUCell(5, 7)
    ours = cells.ScratchGRUCell(5, 7)
    ours.set_state_dict(theirs.state_dict())
    x = paddle.to_tensor(_x(4, 5))
    for cell in (theirs, ours):
        cell(x)[0].square().sum().backward()
    assert np.abs(theirs.weight_hh.grad.numpy() - ours.weight_hh.grad.numpy()).max() <= TOL


def test_scratch_init_matches_paddle_bounds():
    cell = cells.ScratchLSTMCell(5, 16)
    assert cell.weight_ih.shape == [64, 5] and cell.weight_hh.shape == [64, 16]
    assert np.abs(cell.weight_hh.numpy()).max() <= 1 / 4 + 1e-7


def test_parameter_counts():
    for name, gates in cells.GATES.items():
        layer = LAYERS[name](10, 20)
        assert cells.count_parameters(layer) == gates * (20 * 10 + 20 * 20 + 2 * 20)


def test_unknown_cell_type_is_a_clear_error():
    with pytest.raises(CourseError, match="unknown cell type 'transformer'"):
        cells.check_cell_type("transformer")
    with pytest.raises(CourseError, match="activation"):
        cells.rnn_step(np.zeros((1, 2)), np.zeros((1, 2)), np.zeros((2, 2)), np.zeros((2, 2)), 0, 0,
                       activation="sigmoid")


def test_wrong_shape_is_a_clear_error():
    with pytest.raises(CourseError, match="shape"):
        cells.cell_forward("rnn", np.zeros((3, 4)), np.zeros((2, 4)), np.zeros((2, 2)), 0, 0)


def test_sigmoid_is_stable():
    assert np.all(np.isfinite(cells.sigmoid(np.array([-1000.0, 0.0, 1000.0]))))
    assert cells.sigmoid(np.array([0.0]))[0] == 0.5


@pytest.mark.parametrize("bad, name", [("c", "c"), ("x", "h"), ("W_ih", "W_ih"), ("b_hh", "b_hh")])
def test_step_functions_refuse_shapes_numpy_would_broadcast(bad, name):
    """A (B, 1) cell state or a batch-1 x next to a batch-2 h used to broadcast into a wrong answer."""
    B, I, H = 2, 3, 4  # noqa: E741  (I = input size, as in the formulas)
    args = {"x": np.zeros((B, I)), "h": np.zeros((B, H)), "c": np.zeros((B, H)), "W_ih": np.zeros((4 * H, I)),
            "W_hh": np.zeros((4 * H, H)), "b_ih": np.zeros(4 * H), "b_hh": np.zeros(4 * H)}
    args[bad] = {"c": np.zeros((B, 1)), "x": np.zeros((1, I)), "W_ih": np.zeros((I, 4 * H)),
                 "b_hh": np.zeros(H)}[bad]
    with pytest.raises(CourseError, match=name):
        cells.lstm_step(**args)
