"""The comparison CNNs: padding never changes a prediction, shapes and parameter counts are right."""

import numpy as np
import paddle
import pytest

from rnn_course import comparison as cmp
from rnn_course.cells import count_parameters
from rnn_course.errors import CourseError


def test_conv_classifier_ignores_padding():
    paddle.seed(0)
    model = cmp.ConvClassifier(vocab_size=20, embed_size=8, channels=6, kernel_size=3, layers=2, dropout=0.0)
    model.eval()
    ids = np.array([[5, 6, 7, 8, 0, 0, 0], [5, 6, 7, 8, 9, 10, 11]])
    lengths = np.array([4, 7])
    batch = model(paddle.to_tensor(ids), paddle.to_tensor(lengths)).numpy()
    alone = model(paddle.to_tensor(ids[:1, :4]), paddle.to_tensor(lengths[:1])).numpy()
    np.testing.assert_allclose(batch[:1], alone, atol=1e-6)
    assert batch.shape == (2, 2)


def test_conv_classifier_parameter_count():
    model = cmp.ConvClassifier(vocab_size=100, num_classes=2, embed_size=16, channels=32, kernel_size=5, layers=2)
    expected = 100 * 16 + (16 * 32 * 5 + 32) + (32 * 32 * 5 + 32) + (32 * 2 + 2)
    assert count_parameters(model) == expected
    with pytest.raises(CourseError):
        cmp.ConvClassifier(vocab_size=10, kernel_size=4)


def test_conv_regressor_sees_the_whole_sequence():
    paddle.seed(0)
    model = cmp.ConvRegressor(input_size=2, channels=4, kernel_size=3, layers=2)
    x = np.random.default_rng(0).random((3, 50, 2)).astype("float32")
    out = model(paddle.to_tensor(x))
    assert out.shape == [3, 1]
    x2 = x.copy()
    x2[:, 0] += 1.0  # a change at the very first step reaches the output
    assert not np.allclose(model(paddle.to_tensor(x2)).numpy(), out.numpy())


def test_length_sorted_batches_cover_every_text_once():
    seqs = [[1] * n for n in (5, 1, 3, 2, 4)]
    batches = list(cmp.LengthSortedBatches(seqs, [0, 1, 0, 1, 0], batch_size=2, shuffle=True, seed=0))
    assert sorted(int(n) for _, lengths, _ in batches for n in lengths) == [1, 2, 3, 4, 5]
    assert all(ids.shape[1] == lengths.max() for ids, lengths, _ in batches)


def test_timing_is_a_measured_finite_time():
    """Best-of-n starts at infinity: a timer that never records a pass must not pass as "> 0"."""
    model = cmp.ConvRegressor()
    seconds = cmp.time_forward_backward(model, [np.zeros((2, 10, 2), dtype="float32")], repeats=2)
    assert 0 < seconds < 5, seconds
