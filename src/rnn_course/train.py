"""One training loop for scratch and built-in models alike.

A batch is a tuple ``(*inputs, target)``: the model is called as ``model(*inputs)`` and the loss as
``loss_fn(output, target)``. :func:`train_epoch` is the loop itself; :func:`fit` adds validation, early
stopping, budgets and checkpoints (a run resumes exactly where it stopped). Options of :func:`fit`:

* ``evaluate_fn(model, valid_data) -> dict`` adds validation metrics each epoch (default: the mean
  ``loss_fn`` on ``valid_data`` as ``valid_loss``); ``monitor``/``mode`` choose the best epoch.
* ``patience``: stop after that many epochs without improvement; ``restore_best`` reloads the best
  epoch's weights at the end.
* ``max_steps`` / ``max_seconds``: a compute budget (checked after every step, see :class:`Budget`).
* ``lr_schedule(epoch) -> learning rate`` (epoch counted from 0) is applied at the start of every epoch.
  Being a function of the epoch number only, a resumed run continues on the same schedule.
* ``checkpoint_dir``: after every epoch, weights + optimizer + RNG state + history are written as one
  atomic directory (:mod:`rnn_course.checkpoints`); ``resume=True`` continues from there exactly (same
  batches, same numbers). ``run_config`` (a JSON-ready dict) is stored with it, and resuming with a
  different one is an error naming the first setting that differs.
* A loss that becomes NaN or infinite stops training with a :class:`CourseError`.
* ``progress``: a ``\\r`` progress bar on stderr (for terminals; keep it off in notebooks).
* Launched by ``python -m paddle.distributed.launch --nproc_per_node N``, the same call trains
  data-parallel: ``paddle.DataParallel`` averages gradients, process k takes batches k, k+N, …, and only
  process 0 prints and writes checkpoints. Every process ends with the same weights.
"""

from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import paddle
import paddle.distributed as dist

from rnn_course.checkpoints import (
    STATE,
    load_checkpoint,
    read_json,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
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
        max_seconds=None, checkpoint_dir=None, resume=False, run_config=None, log_every=None, verbose=False,
        progress=False, lr_schedule=None) -> History:
    """Train ``model`` for up to ``epochs`` passes over ``train_data`` (any re-iterable of batches):
    :func:`train_epoch`, then validation, the best epoch, early stopping and a checkpoint after each
    epoch. Every option is described in the module docstring."""
    improved = _improvement_test(mode)
    world, main = world_size(), is_main_process()
    if world > 1 and max_seconds:
        raise CourseError("max_seconds cannot be used with several processes (they would stop at different "
                          "steps); use max_steps")
    history, start_epoch, best_state = History(), 0, None
    if resume:
        history, start_epoch, best_state = resume_from(checkpoint_dir, model, optimizer, run_config)
    budget = Budget(max_steps, max_seconds, steps_done=len(history.step_losses))
    net = _parallel_model(model)
    model.train()
    for epoch in range(start_epoch, epochs):
        epoch_start = time.perf_counter()
        if lr_schedule is not None:
            optimizer.set_lr(float(lr_schedule(epoch)))
        total = len(train_data) // world if hasattr(train_data, "__len__") else None
        bar = _Progress(progress and main, epoch + 1, epochs, total)
        losses = train_epoch(net, _shard(train_data, world, rank()), optimizer, loss_fn, history=history,
                             budget=budget, bar=bar, log_every=log_every if verbose and main else None)
        record = {"epoch": epoch + 1, "train_loss": float(np.mean(losses)) if losses else math.nan,
                  "seconds": time.perf_counter() - epoch_start}
        if lr_schedule is not None:
            record["learning_rate"] = float(optimizer.get_lr())
        if valid_data is not None:
            record.update(evaluate_fn(model, valid_data) if evaluate_fn else
                          {"valid_loss": evaluate_loss(model, valid_data, loss_fn)})
        history.epochs.append(record)
        if monitor in record and (history.best_value is None or improved(record[monitor], history.best_value)):
            history.best_epoch, history.best_value = epoch + 1, record[monitor]
            best_state = {k: v.numpy().copy() for k, v in model.state_dict().items()} if restore_best else best_state
        if verbose and main:
            print(" · ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in record.items()))
        history.stopped_early = bool(patience is not None and history.best_epoch is not None
                                     and epoch + 1 - history.best_epoch >= patience)
        if checkpoint_dir and main:
            save_training_state(checkpoint_dir, model, optimizer, history, epoch + 1, best_state, run_config)
        if history.stopped_early or budget.spent:
            break
    if restore_best and best_state is not None:
        model.set_state_dict({k: paddle.to_tensor(v) for k, v in best_state.items()})
    return history


def train_epoch(model, batches, optimizer, loss_fn, *, history=None, budget=None, bar=None, log_every=None) -> list:
    """One pass of the training loop over ``batches``; returns the loss of every step.

    The five lines a first RNN course needs are the body: forward, loss, backward, step, clear.
    """
    losses = []
    for batch in batches:
        inputs, target = _split_batch(batch)
        loss = loss_fn(model(*inputs), target)
        loss.backward()
        optimizer.step()
        optimizer.clear_grad()
        value = loss.item()
        losses.append(value)
        if not math.isfinite(value):
            raise CourseError(f"training diverged: the loss became {value} at step {len(losses)} of this epoch "
                              "(lower the learning rate or clip the gradients); nothing was saved")
        if history is not None:
            history.step_losses.append(value)
        if bar is not None:
            bar.update(len(losses), value)
        if log_every and history is not None and len(history.step_losses) % log_every == 0:
            print(f"step {len(history.step_losses)}: loss {value:.4f}")
        if budget is not None and budget.charge():
            break
    if bar is not None:
        bar.close()
    return losses


class Budget:
    """A compute budget: at most ``max_steps`` optimizer steps and/or ``max_seconds`` of wall time."""

    def __init__(self, max_steps=None, max_seconds=None, steps_done=0):
        self.max_steps, self.max_seconds, self.steps = max_steps, max_seconds, steps_done
        self.started, self.spent = time.perf_counter(), False

    def charge(self) -> bool:
        """Count one step; returns True once the budget is spent."""
        self.steps += 1
        self.spent = bool((self.max_steps and self.steps >= self.max_steps)
                          or (self.max_seconds and time.perf_counter() - self.started >= self.max_seconds))
        return self.spent


def _improvement_test(mode):
    if mode not in ("min", "max"):
        raise CourseError(f"mode must be 'min' or 'max', got {mode!r}")
    return (lambda a, b: a < b) if mode == "min" else (lambda a, b: a > b)


# --------------------------------------------------------------------------------------------
# Resume: the training state next to the weights (no pickle, see rnn_course.checkpoints)
# --------------------------------------------------------------------------------------------
def save_training_state(directory, model, optimizer, history: History, epoch: int, best_state, run_config) -> None:
    state = {"epoch": epoch, "history": asdict(history), "rng": rng_state(), "run_config": run_config}
    save_checkpoint(directory, model, optimizer, state, best_state)


def has_checkpoint(directory) -> bool:
    return bool(directory) and (Path(directory) / STATE).is_file()


def resume_from(directory, model, optimizer, run_config=None) -> tuple:
    """``(history, epochs done, best weights)`` from a checkpoint written by :func:`fit`; model, optimizer
    and every RNG continue exactly where the run stopped. A missing checkpoint or a different
    ``run_config`` is a :class:`CourseError`."""
    if not has_checkpoint(directory):
        raise CourseError(f"nothing to resume: no checkpoint in {directory}")
    saved = read_json(Path(directory) / STATE, "training state").get("run_config")  # before touching weights
    if run_config is not None and saved is not None and saved != run_config:
        name = next(k for k in sorted(set(saved) | set(run_config)) if saved.get(k) != run_config.get(k))
        raise CourseError(f"cannot resume: {name} was {saved.get(name)!r} in the interrupted run, now "
                          f"{run_config.get(name)!r} (use the same settings, or start a new run)")
    state, best = load_checkpoint(directory, model, optimizer)
    try:
        history = History(**state["history"])
        epoch = int(state["epoch"])
        set_rng_state(state["rng"])
    except (KeyError, TypeError, ValueError) as err:
        raise CourseError(f"training state in {directory} is corrupt ({type(err).__name__}: {err})") from err
    return history, epoch, best
