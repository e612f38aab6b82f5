"""The training loop: learning, clipping, early stopping, atomic checkpoints, exact resume after an
interruption, and data-parallel training with two processes."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import paddle
import pytest

import rnn_course
from rnn_course.checkpoints import load_checkpoint, save_checkpoint
from rnn_course.errors import CourseError
from rnn_course.models import SequenceClassifier
from rnn_course.train import (
    History,
    evaluate_loss,
    fit,
    make_optimizer,
    predict,
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
    return SequenceClassifier(6, cell_type="gru", embed_size=8, hidden_size=8, dropout=dropout)


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


def test_learning_rate_schedule_is_applied_per_epoch_and_survives_resume(tmp_path):
    """lr_schedule(epoch) sets each epoch's rate (recorded); an interrupted run resumes on the same schedule."""
    def train(folder, epochs, resume=False):
        rnn_course.setup(0, font=False)
        model = make_model(dropout=0.0)
        optimizer = make_optimizer(model, learning_rate=1.0)
        history = fit(model, Batches(n=32), optimizer=optimizer, loss_fn=paddle.nn.functional.cross_entropy,
                      epochs=epochs, valid_data=Batches(n=16, seed=1, shuffle=False), checkpoint_dir=folder,
                      resume=resume, lr_schedule=lambda epoch: 0.1 * 0.5 ** epoch)
        return model, history

    full_model, full = train(tmp_path / "full", 3)
    assert full.column("learning_rate") == pytest.approx([0.1, 0.05, 0.025])
    train(tmp_path / "cut", 2)
    resumed_model, resumed = train(tmp_path / "cut", 3, resume=True)
    assert resumed.column("learning_rate") == pytest.approx([0.1, 0.05, 0.025])
    assert resumed.step_losses == full.step_losses
    for key, value in weights(full_model).items():
        np.testing.assert_array_equal(weights(resumed_model)[key], value)


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
    save_checkpoint(tmp_path / "ckpt", model, state={"epoch": 1})
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == ["state.json", "weights.npz"]
    other = make_model()
    assert load_checkpoint(tmp_path / "ckpt", other) == ({"epoch": 1}, None)
    for key, value in weights(model).items():
        np.testing.assert_array_equal(weights(other)[key], value)
    with pytest.raises(CourseError, match="not found"):
        load_checkpoint(tmp_path / "missing", other)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "weights.npz").write_bytes(b"not a checkpoint")
    with pytest.raises(CourseError, match="corrupt"):
        load_checkpoint(tmp_path / "bad", other)
    with pytest.raises(CourseError, match="do not fit"):
        load_checkpoint(tmp_path / "ckpt",
                        SequenceClassifier(6, cell_type="gru", embed_size=8, hidden_size=9))
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises((CourseError, OSError)):
        save_checkpoint(blocker / "sub", model)


def test_resume_checks_the_run_configuration_and_the_state(tmp_path):
    """Issue 12 §3: resuming with a changed setting, with nothing to resume, or from a damaged
    state is one clear error, never a silent different run."""
    def go(resume, run_config, epochs=1):
        rnn_course.setup(0, font=False)
        model = make_model()
        return fit(model, Batches(), optimizer=make_optimizer(model), loss_fn=paddle.nn.functional.cross_entropy,
                   epochs=epochs, checkpoint_dir=tmp_path / "ck", resume=resume, run_config=run_config)

    with pytest.raises(CourseError, match="nothing to resume"):
        go(True, {"lr": 0.01})
    go(False, {"lr": 0.01, "seed": 0})
    with pytest.raises(CourseError, match="lr was 0.01 in the interrupted run, now 0.02"):
        go(True, {"lr": 0.02, "seed": 0}, epochs=2)
    assert len(go(True, {"lr": 0.01, "seed": 0}, epochs=2).epochs) == 2
    state = json.loads((tmp_path / "ck" / "state.json").read_text(encoding="utf-8"))
    del state["rng"]
    (tmp_path / "ck" / "state.json").write_text(json.dumps(state), encoding="utf-8")
    with pytest.raises(CourseError, match="corrupt"):
        go(True, {"lr": 0.01, "seed": 0}, epochs=3)


def test_checkpoints_never_unpickle(tmp_path):
    """Issue 12 §2: a checkpoint holds .npz + JSON only; an .npz with a pickled object array is refused
    (np.load(allow_pickle=False)) instead of running the pickle."""
    model = make_model()
    fit(model, Batches(), optimizer=make_optimizer(model), loss_fn=paddle.nn.functional.cross_entropy, epochs=1,
        checkpoint_dir=tmp_path / "ck")
    names = sorted(p.name for p in (tmp_path / "ck").iterdir())
    assert all(n.endswith((".npz", ".json")) for n in names), names
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    np.savez(tmp_path / "ck" / "weights.npz", **{"embedding.weight": np.array([Evil()], dtype=object)})
    with pytest.raises(CourseError, match="corrupt"):
        fit(model, Batches(), optimizer=make_optimizer(model), loss_fn=paddle.nn.functional.cross_entropy,
            epochs=2, checkpoint_dir=tmp_path / "ck", resume=True)
    assert not marker.exists()


def test_non_finite_loss_stops_training():
    """Issue 12 §3: --lr inf used to train on and save NaN weights; now the first non-finite loss stops it."""
    model = make_model()
    with pytest.raises(CourseError, match="diverged"):
        fit(model, Batches(), optimizer=make_optimizer(model, learning_rate=1e30),
            loss_fn=paddle.nn.functional.cross_entropy, epochs=3)


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
