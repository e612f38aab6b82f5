"""Models: shapes, padding invariance, and scratch == fused under the same training loop."""

import numpy as np
import paddle
import pytest

from rnn_course.errors import CourseError
from rnn_course.models import LanguageModel, SequenceClassifier, SequenceRegressor
from rnn_course.train import fit, make_optimizer


@pytest.mark.parametrize("cell_type", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("pooling", ["last", "mean", "max"])
def test_classifier_ignores_padding(cell_type, bidirectional, pooling):
    model = SequenceClassifier(50, cell_type=cell_type, embed_size=8, hidden_size=6,
                               bidirectional=bidirectional, pooling=pooling, num_layers=2)
    model.eval()
    ids = paddle.to_tensor(np.array([[5, 6, 7, 8], [9, 10, 0, 0]]))
    lengths = paddle.to_tensor(np.array([4, 2]))
    logits = model(ids, lengths)
    assert logits.shape == [2, 2]
    padded = paddle.concat([ids, paddle.zeros([2, 5], dtype="int64")], axis=1)
    assert np.abs(model(padded, lengths).numpy() - logits.numpy()).max() <= 1e-5
    alone = model(ids[1:, :2], lengths[1:])
    assert np.abs(alone.numpy() - logits.numpy()[1:]).max() <= 1e-5


def test_unknown_names_are_clear_errors():
    with pytest.raises(CourseError, match="unknown cell type"):
        SequenceClassifier(10, cell_type="lstmm")
    with pytest.raises(CourseError, match="pooling"):
        SequenceClassifier(10, pooling="sum")


def test_language_model_shapes():
    lm = LanguageModel(30, "lstm", embed_size=8, hidden_size=16)
    logits, state = lm(paddle.to_tensor(np.ones((2, 5), dtype="int64")))
    assert logits.shape == [2, 5, 30]
    logits2, _ = lm(paddle.to_tensor(np.ones((2, 1), dtype="int64")), state)
    assert logits2.shape == [2, 1, 30]


@pytest.mark.parametrize("cell_type", ["rnn", "lstm", "gru"])
def test_scratch_and_fused_train_identically(cell_type):
    """Same initial weights + same loop → same losses: the scratch cell *is* the Paddle cell."""
    fused = SequenceRegressor(2, 8, cell_type)
    scratch = SequenceRegressor(2, 8, cell_type, scratch=True)
    scratch.set_state_dict({k.replace("rnn.", "rnn.cell.").replace("_l0", ""): v
                            for k, v in fused.state_dict().items()})
    rng = np.random.default_rng(0)
    batches = [(rng.standard_normal((4, 6, 2)).astype("float32"), rng.standard_normal((4, 1)).astype("float32"))
               for _ in range(5)]
    losses = []
    for model in (fused, scratch):
        history = fit(model, batches, optimizer=make_optimizer(model, learning_rate=1e-2),
                      loss_fn=paddle.nn.functional.mse_loss, epochs=2)
        losses.append(history.step_losses)
    assert np.abs(np.array(losses[0]) - np.array(losses[1])).max() <= 1e-5
