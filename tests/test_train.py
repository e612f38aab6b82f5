"""The training loop: learning, clipping, early stopping, atomic checkpoints, exact resume after an
interruption, and data-parallel training with two processes."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import paddle
import pytest

import rnn_course
from rnn_course.errors import CourseError
from rnn_course.models import SequenceClassifier
from rnn_course.train import (
    History,
    evaluate_loss,
    fit,
    load_weights,
    make_optimizer,
    predict,
    save_checkpoint,
)

ROOT = Path(__file__).resolve().parents[1]


class Batches:
    """Re-iterable toy batches (ids, lengths, labels), shuffled from NumPy's global RNG each pass:
    label 1 iff token 3 occurs in the sequence."""

    def __init__(self, n=96, batch_size=16, seed=0, shuffle=True):
        rng = np.random.default_rng(seed)
        self.lengths = rng.integers(2, 9, size=n)
        self.ids = np.zeros((n, 8), dtype=np.int64)
        for i, length in enumerate(self.lengths):
            self.ids[i, :length] = rng.integers(2, 6, size=length)
        self.labels = (self.ids == 3).any(axis=1).astype(np.int64)
        self.batch_size, self.shuffle = batch_size, shuffle

    def __len__(self):
        return len(self.ids) // self.batch_size

    def __iter__(self):
        order = np.random.permutation(len(self.ids)) if self.shuffle else np.arange(len(self.ids))
        for start in range(0, len(order) - self.batch_size + 1, self.batch_size):
            idx = order[start : start + self.batch_size]
            yield self.ids[idx], self.lengths[idx], self.labels[idx]


def make_model(dropout=0.3):
    return SequenceClassifier(6, rnn_type="gru", embed_size=8, hidden_size=8, dropout=dropout)


def weights(model):
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


def test_fit_learns_and_records_history():
    model = make_model()
    data, valid = Batches(), Batches(n=64, seed=1, shuffle=False)
    before = evaluate_loss(model, valid, paddle.nn.functional.cross_entropy)
    history = fit(model, data, optimizer=make_optimizer(model, learning_rate=2e-2, clip_norm=1.0),
                  loss_fn=paddle.nn.functional.cross_entropy, epochs=6, valid_data=valid)
    assert isinstance(history, History)
    assert len(history.step_losses) == 6 * len(data)
    assert history.column("epoch") == [1, 2, 3, 4, 5, 6]
    assert history.best_value == min(history.column("valid_loss"))
    assert history.best_value < 0.7 * before
    assert predict(model, valid).shape == (64, 2)


def test_global_norm_clipping_bounds_the_step():
    model = make_model(dropout=0.0)
    start = [p.numpy().copy() for p in model.parameters()]  # (state_dict lists RNN weights twice)
    optimizer = make_optimizer(model, "sgd", learning_rate=1.0, clip_norm=1e-3)
    fit(model, Batches(n=16), optimizer=optimizer, loss_fn=paddle.nn.functional.cross_entropy, epochs=1)
    step = np.sqrt(sum(np.sum((p.numpy() - p0) ** 2) for p, p0 in zip(model.parameters(), start, strict=False)))
    assert 0 < step <= 1e-3 * (1 + 1e-4)  # one SGD step of lr 1 moves by exactly the clipped norm


def test_early_stopping_and_restore_best():
    model = make_model()
    # a validation metric that gets worse every epoch: the best epoch is the first
    calls = []

    def evaluate_fn(m, data):
        calls.append(weights(m))
        return {"score": -float(len(calls))}

    history = fit(model, Batches(), optimizer=make_optimizer(model, learning_rate=1e-2),
                  loss_fn=paddle.nn.functional.cross_entropy, epochs=10, valid_data=[None],
                  evaluate_fn=evaluate_fn, monitor="score", mode="max", patience=2)
    assert history.stopped_early and len(history.epochs) == 3 and history.best_epoch == 1
    for key, value in weights(model).items():
        np.testing.assert_array_equal(value, calls[0][key])


def test_budget_stops_after_max_steps():
    model = make_model()
    history = fit(model, Batches(), optimizer=make_optimizer(model), loss_fn=paddle.nn.functional.cross_entropy,
                  epochs=5, max_steps=4)
    assert len(history.step_losses) == 4


class Interrupt(Exception):
    pass


def run(checkpoint_dir, epochs=3, interrupt_at_step=None, resume=False):
    rnn_course.setup(0, font=False)
    model = make_model()
    optimizer = make_optimizer(model, learning_rate=1e-2, clip_norm=1.0)
    steps = []

    def loss_fn(logits, target):
        steps.append(1)
        if interrupt_at_step is not None and len(steps) == interrupt_at_step:
            raise Interrupt()
        return paddle.nn.functional.cross_entropy(logits, target)

    history = fit(model, Batches(), optimizer=optimizer, loss_fn=loss_fn, epochs=epochs,
                  valid_data=Batches(n=32, seed=1, shuffle=False), checkpoint_dir=checkpoint_dir, resume=resume)
    return model, history


def test_interrupted_run_resumes_exactly(tmp_path):
    full_model, full_history = run(tmp_path / "full")
    steps_per_epoch = len(Batches())
    with pytest.raises(Interrupt):  # dies in the middle of epoch 2
        run(tmp_path / "cut", interrupt_at_step=steps_per_epoch + 3)
    assert not list((tmp_path / "cut").glob(".*.tmp")), "a temporary file was left behind"
    resumed_model, resumed_history = run(tmp_path / "cut", resume=True)
    assert resumed_history.step_losses == full_history.step_losses
    assert resumed_history.column("valid_loss") == full_history.column("valid_loss")
    for key, value in weights(full_model).items():
        np.testing.assert_array_equal(weights(resumed_model)[key], value)


def test_checkpoint_files_and_clear_errors(tmp_path):
    model = make_model()
    save_checkpoint(tmp_path / "ckpt", model)
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == ["model.pdparams"]
    other = make_model()
    load_weights(other, tmp_path / "ckpt")
    for key, value in weights(model).items():
        np.testing.assert_array_equal(weights(other)[key], value)
    with pytest.raises(CourseError, match="no model weights"):
        load_weights(other, tmp_path / "missing")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "model.pdparams").write_bytes(b"not a checkpoint")
    with pytest.raises(CourseError, match="corrupt"):
        load_weights(other, tmp_path / "bad")
    with pytest.raises(CourseError, match="does not fit"):
        load_weights(SequenceClassifier(6, rnn_type="gru", embed_size=8, hidden_size=9), tmp_path / "ckpt")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(CourseError, match="cannot create"):
        save_checkpoint(blocker / "sub", model)


DISTRIBUTED_SCRIPT = textwrap.dedent('''
    import sys
    import numpy as np
    import rnn_course
    rnn_course.setup(0, font=False)
    import paddle
    sys.path.insert(0, sys.argv[1])
    from test_train import Batches, make_model
    from rnn_course.train import fit, make_optimizer, rank, world_size

    model = make_model(dropout=0.0)
    fit(model, Batches(n=64, shuffle=False), optimizer=make_optimizer(model, "sgd", learning_rate=0.5),
        loss_fn=paddle.nn.functional.cross_entropy, epochs=2)
    np.savez(f"{sys.argv[2]}/rank{rank()}of{world_size()}.npz",
             **{k: v.numpy() for k, v in model.state_dict().items()})
''')


def test_two_process_data_parallel_matches_one_process_on_merged_batches(tmp_path):
    script = tmp_path / "ddp_train.py"
    script.write_text(DISTRIBUTED_SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    env.pop("PADDLE_TRAINERS_NUM", None)
    done = subprocess.run([sys.executable, "-m", "paddle.distributed.launch", "--nproc_per_node", "2",
                           "--log_dir", str(tmp_path / "log"), str(script), str(ROOT / "tests"), str(tmp_path)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    ranks = [dict(np.load(tmp_path / f"rank{r}of2.npz")) for r in (0, 1)]
    # rank r took batches r, r+2, …; averaging their gradients = one process on the merged batch
    rnn_course.setup(0, font=False)
    single = make_model(dropout=0.0)
    data = Batches(n=64, batch_size=32, shuffle=False)
    fit(single, data, optimizer=make_optimizer(single, "sgd", learning_rate=0.5),
        loss_fn=paddle.nn.functional.cross_entropy, epochs=2)
    for key, value in weights(single).items():
        np.testing.assert_array_equal(ranks[0][key], ranks[1][key])
        np.testing.assert_allclose(ranks[0][key], value, atol=1e-5)
