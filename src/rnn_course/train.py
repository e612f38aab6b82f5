"""One training loop for scratch and built-in models alike.

A batch is a tuple ``(*inputs, target)``: the model is called as ``model(*inputs)`` and the loss as
``loss_fn(output, target)``. Validation runs after each epoch; the best epoch (by ``monitor``) can
stop training early; checkpoints are written atomically and a run resumes exactly where it stopped.
"""

from __future__ import annotations

import math
import os
import pickle
import random
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import paddle

from rnn_course.errors import CourseError


def make_optimizer(model, name="adam", learning_rate=1e-3, clip_norm=None, weight_decay=None):
    """Adam/SGD/RMSProp over ``model``'s parameters, with optional global-norm gradient clipping."""
    classes = {"adam": paddle.optimizer.Adam, "sgd": paddle.optimizer.SGD, "rmsprop": paddle.optimizer.RMSProp,
               "adamw": paddle.optimizer.AdamW}
    if name not in classes:
        raise CourseError(f"unknown optimizer {name!r}: choose one of {', '.join(classes)}")
    clip = paddle.nn.ClipGradByGlobalNorm(clip_norm) if clip_norm else None
    kwargs = {"weight_decay": weight_decay} if weight_decay else {}
    return classes[name](learning_rate=learning_rate, parameters=model.parameters(), grad_clip=clip, **kwargs)


def _to_tensor(value):
    return value if isinstance(value, paddle.Tensor) else paddle.to_tensor(value)


def masked_cross_entropy(logits, target, pad_id: int = 0):
    """Mean cross-entropy over real target tokens only: logits (batch, time, vocab), target (batch, time).

    Positions where ``target == pad_id`` contribute nothing (not to the sum, not to the count); a batch
    of padding only gives 0, not NaN.
    """
    vocab = logits.shape[-1]
    nll = paddle.nn.functional.cross_entropy(logits.reshape([-1, vocab]), target.reshape([-1, 1]),
                                             reduction="none")  # (batch·time, 1)
    mask = (target.reshape([-1, 1]) != pad_id).astype(nll.dtype)
    return (nll * mask).sum() / paddle.clip(mask.sum(), min=1.0)


def _split_batch(batch):
    batch = [_to_tensor(b) for b in batch]
    return batch[:-1], batch[-1]


def evaluate_loss(model, batches, loss_fn) -> float:
    """Mean ``loss_fn`` over ``batches`` (weighted by batch size), in eval mode without gradients."""
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    with paddle.no_grad():
        for batch in batches:
            inputs, target = _split_batch(batch)
            n = target.shape[0]
            total += loss_fn(model(*inputs), target).item() * n
            count += n
    if was_training:
        model.train()
    if count == 0:
        raise CourseError("no validation batches")
    return total / count


def predict(model, batches):
    """Concatenate ``model(*inputs)`` over batches (targets ignored) as a NumPy array."""
    was_training = model.training
    model.eval()
    outs = []
    with paddle.no_grad():
        for batch in batches:
            inputs, _ = _split_batch(batch)
            outs.append(model(*inputs).numpy())
    if was_training:
        model.train()
    return np.concatenate(outs)


@dataclass
class History:
    """What :func:`fit` measured: the loss of every step and one record per epoch."""

    step_losses: list = field(default_factory=list)
    epochs: list = field(default_factory=list)  # dicts: epoch, train_loss, seconds, valid metrics
    best_epoch: int | None = None
    best_value: float | None = None
    stopped_early: bool = False

    def column(self, key):
        return [record[key] for record in self.epochs]


# --------------------------------------------------------------------------------------------
# Checkpoints: atomic writes, clear errors, exact resume
# --------------------------------------------------------------------------------------------
def _atomic_write(path: Path, write) -> None:
    """Write via a temporary file in the same directory, then rename (never a half-written file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def save_checkpoint(directory, model, optimizer=None, state=None) -> Path:
    """Save weights (``model.pdparams``), optimizer state and a pickled training state atomically."""
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise CourseError(f"cannot create checkpoint directory {directory}: {err.strerror}") from err
    _atomic_write(directory / "model.pdparams", lambda p: paddle.save(model.state_dict(), p))
    if optimizer is not None:
        opt_state = _rename_optimizer_state(optimizer.state_dict(), _param_names(model))
        _atomic_write(directory / "optimizer.pdopt", lambda p: paddle.save(opt_state, p))
    if state is not None:
        _atomic_write(directory / "train_state.pkl", lambda p: Path(p).write_bytes(pickle.dumps(state)))
    return directory


def _param_names(model) -> dict:
    """Paddle's global parameter names (``linear_3.w_0``, which depend on how many layers were
    created before) → the model's structural names (``fc.weight``)."""
    return {param.name: name for name, param in model.named_parameters()}


def _rename_optimizer_state(state: dict, names: dict) -> dict:
    """Rename accumulator keys (``<param name>_moment1_0``) with ``names``: optimizer state saved by
    structural name can be loaded into a freshly built model whose global names differ."""
    ordered = sorted(names, key=len, reverse=True)  # longest prefix wins
    renamed = {}
    for key, value in state.items():
        prefix = next((n for n in ordered if key.startswith(n + "_")), None)
        renamed[names[prefix] + key[len(prefix):] if prefix else key] = value
    return renamed


def load_optimizer_state(optimizer, model, path) -> None:
    """Load an optimizer state written by :func:`save_checkpoint` into ``optimizer`` of ``model``."""
    try:
        state = paddle.load(str(path))
    except Exception as err:
        raise CourseError(f"optimizer state {path} is corrupt") from err
    to_global = {v: k for k, v in _param_names(model).items()}
    optimizer.set_state_dict(_rename_optimizer_state(state, to_global))


def load_weights(model, directory) -> None:
    """Load ``model.pdparams`` from ``directory`` into ``model``; errors name the problem."""
    path = Path(directory) / "model.pdparams"
    if not path.is_file():
        raise CourseError(f"no model weights at {path}")
    try:
        weights = paddle.load(str(path))
    except Exception as err:  # paddle raises several types for a damaged file
        raise CourseError(f"checkpoint {path} is corrupt or not a Paddle checkpoint") from err
    if not isinstance(weights, dict):
        raise CourseError(f"checkpoint {path} is corrupt or not a Paddle checkpoint")
    own = model.state_dict()
    missing = sorted(set(own) - set(weights))
    if missing:
        raise CourseError(f"checkpoint {path} does not fit this model (missing {missing[0]!r})")
    for name, tensor in own.items():
        if list(tensor.shape) != list(weights[name].shape):
            raise CourseError(f"checkpoint {path} does not fit this model ({name}: "
                              f"{list(weights[name].shape)} vs {list(tensor.shape)})")
    model.set_state_dict(weights)


def _rng_state():
    return {"random": random.getstate(), "numpy": np.random.get_state(), "paddle": paddle.get_rng_state()}


def _set_rng_state(state):
    random.setstate(state["random"])
    np.random.set_state(state["numpy"])
    paddle.set_rng_state(state["paddle"])


# --------------------------------------------------------------------------------------------
# Data parallelism: the same script on one process or under paddle.distributed.launch
# --------------------------------------------------------------------------------------------
def world_size() -> int:
    """Number of training processes (``PADDLE_TRAINERS_NUM`` set by ``paddle.distributed.launch``)."""
    return int(os.environ.get("PADDLE_TRAINERS_NUM", "1"))


def rank() -> int:
    """This process's index (0 on a single process)."""
    return int(os.environ.get("PADDLE_TRAINER_ID", "0"))


def is_main_process() -> bool:
    return rank() == 0


def _parallel_model(model):
    """Wrap ``model`` in ``paddle.DataParallel`` when launched with several processes (gradients are
    averaged across processes in ``backward``); otherwise return it unchanged."""
    if world_size() <= 1:
        return model
    import paddle.distributed as dist

    if not dist.is_initialized():
        dist.init_parallel_env()
    return paddle.DataParallel(model)


def _shard(batches, world: int, index: int):
    """Batch i goes to process i mod ``world``; the tail that cannot be shared equally is dropped so
    every process runs the same number of steps (each step ends in a collective all-reduce)."""
    if world <= 1:
        yield from batches
        return
    pending = []
    for batch in batches:
        pending.append(batch)
        if len(pending) == world:
            yield pending[index]
            pending = []


class _Progress:
    """A one-line ``\r`` progress bar on stderr (for long command-line runs, never in notebooks)."""

    def __init__(self, enabled: bool, epoch: int, epochs: int, total):
        import sys

        self.enabled, self.stream = enabled, sys.stderr
        self.epoch, self.epochs, self.total, self.start = epoch, epochs, total, time.perf_counter()

    def update(self, done: int, loss: float) -> None:
        if not self.enabled:
            return
        bar = ""
        if self.total:
            filled = int(20 * done / self.total)
            bar = f"[{'#' * filled}{'.' * (20 - filled)}] {done}/{self.total} "
        elapsed = time.perf_counter() - self.start
        self.stream.write(f"\repoch {self.epoch}/{self.epochs} {bar}loss {loss:.4f} {elapsed:.0f}s ")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


def fit(model, train_data, *, optimizer, loss_fn, epochs=1, valid_data=None, evaluate_fn=None,
        monitor="valid_loss", mode="min", patience=None, restore_best=True, max_steps=None,
        max_seconds=None, checkpoint_dir=None, resume=False, log_every=None, verbose=False,
        progress=False) -> History:
    """Train ``model`` for up to ``epochs`` passes over ``train_data`` (any re-iterable of batches).

    * ``evaluate_fn(model, valid_data) -> dict`` adds validation metrics each epoch (default: the
      mean ``loss_fn`` on ``valid_data`` as ``valid_loss``); ``monitor``/``mode`` choose the best epoch.
    * ``patience``: stop after that many epochs without improvement; ``restore_best`` reloads the best
      epoch's weights at the end.
    * ``max_steps`` / ``max_seconds``: a compute budget (checked after every step).
    * ``checkpoint_dir``: after every epoch, weights + optimizer + RNG state + history are written
      atomically; ``resume=True`` continues from there exactly (same batches, same numbers).
    * ``progress``: a ``\\r`` progress bar on stderr (for terminals; keep it off in notebooks).
    * Launched by ``python -m paddle.distributed.launch --nproc_per_node N``, the same call trains
      data-parallel: ``paddle.DataParallel`` averages gradients, process k takes batches k, k+N, …,
      and only process 0 prints and writes checkpoints. Every process ends with the same weights.
    """
    if mode not in ("min", "max"):
        raise CourseError(f"mode must be 'min' or 'max', got {mode!r}")
    better = (lambda a, b: a < b) if mode == "min" else (lambda a, b: a > b)
    history, start_epoch, best_state = History(), 0, None
    ckpt = Path(checkpoint_dir) if checkpoint_dir else None
    if resume and ckpt and (ckpt / "train_state.pkl").is_file():
        load_weights(model, ckpt)
        if (ckpt / "optimizer.pdopt").is_file():
            load_optimizer_state(optimizer, model, ckpt / "optimizer.pdopt")
        try:
            state = pickle.loads((ckpt / "train_state.pkl").read_bytes())
        except Exception as err:
            raise CourseError(f"training state in {ckpt} is corrupt") from err
        history, start_epoch, best_state = state["history"], state["epoch"], state["best_weights"]
        _set_rng_state(state["rng"])
    started, step = time.perf_counter(), len(history.step_losses)
    out_of_budget = False
    world, main = world_size(), is_main_process()
    if world > 1 and max_seconds:
        raise CourseError("max_seconds cannot be used with several processes (they would stop at different "
                          "steps); use max_steps")
    net = _parallel_model(model)
    verbose, progress = verbose and main, progress and main
    model.train()
    for epoch in range(start_epoch, epochs):
        epoch_start, losses = time.perf_counter(), []
        total = len(train_data) // world if hasattr(train_data, "__len__") else None
        bar = _Progress(progress, epoch + 1, epochs, total)
        for batch in _shard(train_data, world, rank()):
            inputs, target = _split_batch(batch)
            loss = loss_fn(net(*inputs), target)
            loss.backward()
            optimizer.step()
            optimizer.clear_grad()
            value = loss.item()
            losses.append(value)
            history.step_losses.append(value)
            step += 1
            bar.update(len(losses), value)
            if verbose and log_every and step % log_every == 0:
                print(f"step {step}: loss {value:.4f}")
            if (max_steps and step >= max_steps) or (max_seconds and time.perf_counter() - started >= max_seconds):
                out_of_budget = True
                break
        bar.close()
        record = {"epoch": epoch + 1, "train_loss": float(np.mean(losses)) if losses else math.nan,
                  "seconds": time.perf_counter() - epoch_start}
        if valid_data is not None:
            metrics = evaluate_fn(model, valid_data) if evaluate_fn else {
                "valid_loss": evaluate_loss(model, valid_data, loss_fn)}
            record.update(metrics)
        history.epochs.append(record)
        if monitor in record and (history.best_value is None or better(record[monitor], history.best_value)):
            history.best_epoch, history.best_value = epoch + 1, record[monitor]
            if restore_best:
                best_state = {k: v.numpy().copy() for k, v in model.state_dict().items()}
        if verbose:
            print(" · ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in record.items()))
        stop = bool(patience is not None and history.best_epoch is not None
                    and epoch + 1 - history.best_epoch >= patience)
        history.stopped_early = stop
        if ckpt and main:
            save_checkpoint(ckpt, model, optimizer, {"epoch": epoch + 1, "history": history,
                                                     "best_weights": best_state, "rng": _rng_state()})
        if stop or out_of_budget:
            break
    if restore_best and best_state is not None:
        model.set_state_dict({k: paddle.to_tensor(v) for k, v in best_state.items()})
    return history
