"""Reusable benchmarks: the adding problem (Hochreiter & Schmidhuber 1997).

``adding_benchmark("lstm", seq_len=100, seed=0, budget_steps=1500)`` trains a one-layer recurrent
model (cell → final hidden state → Linear) on freshly drawn batches, evaluates the MSE on a fixed
held-out set every ``eval_every`` steps, and stops when that MSE falls below ``target_mse`` or the
budget (steps and/or seconds) is spent. Always predicting the mean 1.0 gives MSE ≈ 1/6 ≈ 0.167, the
line every cell must beat.

Cell types: ``"rnn"`` (tanh SimpleRNN), ``"lstm"``, ``"gru"`` and ``"irnn"`` (ReLU SimpleRNN with
identity recurrent weights, Le et al. 2015). Timings are CPU seconds of the training loop *including*
the periodic evaluations, measured with ``time.perf_counter``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import paddle
from paddle import nn

from rnn_course.cells import check_cell_type
from rnn_course.data import adding_problem
from rnn_course.errors import CourseError
from rnn_course.gradients import identity_init
from rnn_course.models import SequenceRegressor
from rnn_course.runtime import parallel_map, shift_seed
from rnn_course.train import predict

BENCH_CELLS = ("rnn", "lstm", "gru", "irnn")
MEAN_PREDICTOR_MSE = 1.0 / 6.0  # Var(U1 + U2) = 2 · 1/12 for the two marked uniform values


@dataclass
class AddingRecord:
    """What one :func:`adding_benchmark` run measured."""

    cell_type: str
    seq_len: int  # sequence length T
    seed: int
    budget_steps: int | None
    budget_seconds: float | None
    target_mse: float
    solved_step: int | None = None  # first evaluated training step with held-out MSE < target
    solved_seconds: float | None = None  # training seconds until then
    train_steps: int = 0  # training steps actually run
    seconds: float = 0.0  # total training seconds
    curve_steps: list = field(default_factory=list)  # training step of each evaluation
    curve_mse: list = field(default_factory=list)  # held-out MSE at that step
    baseline_mse: float = float("nan")  # "always predict 1" on the same held-out set
    diverged: bool = False  # loss became NaN/inf

    @property
    def solved(self) -> bool:
        return self.solved_step is not None

    @property
    def final_mse(self) -> float:
        return self.curve_mse[-1] if self.curve_mse else float("nan")

    def row(self) -> dict:
        """A flat summary for a results table."""
        return {"cell": self.cell_type, "T": self.seq_len, "seed": self.seed, "solved": self.solved,
                "steps_to_target": self.solved_step, "seconds_to_target": self.solved_seconds,
                "final_mse": self.final_mse, "best_mse": min(self.curve_mse) if self.curve_mse else float("nan"),
                "train_steps": self.train_steps, "seconds": self.seconds}


class AddingModel(SequenceRegressor):
    """(batch, T, 2) → recurrent layer → last hidden state → Linear → (batch, 1): a
    :class:`~rnn_course.models.SequenceRegressor` that also knows the IRNN (ReLU, identity init)."""

    def __init__(self, cell_type: str, hidden_size: int = 32, input_size: int = 2, seed: int = 0):
        cell_type = check_bench_cell(cell_type)
        irnn = cell_type == "irnn"
        super().__init__(input_size, hidden_size, "rnn" if irnn else cell_type,
                         activation="relu" if irnn else "tanh")
        self.cell_type = cell_type
        if irnn:
            identity_init(self.rnn, seed=seed)


def check_bench_cell(cell_type: str) -> str:
    """:func:`rnn_course.cells.check_cell_type` plus ``"irnn"``."""
    if str(cell_type).lower() == "irnn":
        return "irnn"
    try:
        return check_cell_type(cell_type)
    except CourseError:
        raise CourseError(f"unknown cell type {cell_type!r}: choose one of {', '.join(BENCH_CELLS)}") from None


def evaluate_mse(model, x, y, batch_size: int = 500) -> float:
    """Mean squared error of ``model`` on (x, y) NumPy arrays (:func:`rnn_course.train.predict`: eval
    mode, no gradients, the model's mode restored afterwards)."""
    pred = predict(model, [(x[start:start + batch_size], y[start:start + batch_size])
                           for start in range(0, len(x), batch_size)])
    # summed chunk by chunk in float64: the recorded curves (and chapter 04/06 step counts) depend on this order
    return sum(float(((pred[s:s + batch_size] - y[s:s + batch_size]) ** 2).sum())
               for s in range(0, len(x), batch_size)) / y.size


def adding_benchmark(cell_type: str, seq_len: int, seed: int, hidden_size: int = 32, batch_size: int = 64,
                     lr: float = 1e-2, clip: float | None = 1.0, budget_seconds: float | None = None,
                     budget_steps: int | None = 2000, target_mse: float = 0.01, eval_every: int = 50,
                     n_eval: int = 1000, stop_at_target: bool = True) -> AddingRecord:
    """Train ``cell_type`` on the adding problem with sequences of length ``seq_len``.

    * Model: :class:`AddingModel` (``hidden_size`` units), Adam(``lr``), ``ClipGradByGlobalNorm(clip)``
      (``clip=None`` disables it), MSE loss, a fresh batch of ``batch_size`` sequences every step.
    * ``seed`` fixes the initial weights (``paddle.seed``) and the training batches; the held-out set
      (``n_eval`` sequences) depends only on ``seq_len``, so every cell and seed is scored on the same data.
    * Budget: stop after ``budget_steps`` training steps and/or ``budget_seconds`` seconds (at least one
      must be given); with ``stop_at_target`` also as soon as the held-out MSE < ``target_mse``.
    * Returns an :class:`AddingRecord` (steps and seconds to reach the target, the MSE curve, …).
    """
    cell_type = check_bench_cell(cell_type)
    if budget_steps is None and budget_seconds is None:
        raise CourseError("give the benchmark a budget: budget_steps and/or budget_seconds")
    if seq_len < 2 or batch_size < 1 or hidden_size < 1 or eval_every < 1:
        raise CourseError("seq_len must be ≥ 2 and batch_size, hidden_size, eval_every ≥ 1")
    paddle.seed(shift_seed(seed))
    model = AddingModel(cell_type, hidden_size, seed=seed)
    grad_clip = nn.ClipGradByGlobalNorm(clip) if clip else None
    optimizer = paddle.optimizer.Adam(learning_rate=lr, parameters=model.parameters(), grad_clip=grad_clip)
    x_eval, y_eval = adding_problem(n_eval, seq_len, seed=1_000_003 + seq_len)
    rng = np.random.default_rng(shift_seed(seed))
    record = AddingRecord(cell_type, seq_len, seed, budget_steps, budget_seconds, target_mse,
                          baseline_mse=float(((y_eval - 1.0) ** 2).mean()))
    elapsed, step = 0.0, 0
    while True:
        started = time.perf_counter()
        x, y = adding_problem(batch_size, seq_len, seed=rng)
        loss = nn.functional.mse_loss(model(paddle.to_tensor(x)), paddle.to_tensor(y))
        loss.backward()
        optimizer.step()
        optimizer.clear_grad()
        step += 1
        value = loss.item()
        if step % eval_every == 0 or not np.isfinite(value):
            mse = evaluate_mse(model, x_eval, y_eval)
            record.curve_steps.append(step)
            record.curve_mse.append(mse)
        elapsed += time.perf_counter() - started
        if not np.isfinite(value):
            record.diverged = True
            break
        if record.curve_steps and record.curve_steps[-1] == step and record.curve_mse[-1] < target_mse:
            if record.solved_step is None:
                record.solved_step, record.solved_seconds = step, elapsed
            if stop_at_target:
                break
        if (budget_steps is not None and step >= budget_steps) or (
                budget_seconds is not None and elapsed >= budget_seconds):
            break
    record.train_steps, record.seconds = step, elapsed
    return record


def summarize(records) -> list:
    """Group records by (cell, T): number solved, median steps/seconds to target, spread of final MSE."""
    groups: dict = {}
    for r in records:
        groups.setdefault((r.cell_type, r.seq_len), []).append(r)
    rows = []
    for (cell, T), rs in groups.items():
        solved = [r for r in rs if r.solved]
        rows.append({
            "cell": cell, "T": T, "runs": len(rs), "solved": len(solved),
            "steps_to_target": sorted(r.solved_step for r in solved),
            "seconds_to_target": sorted(round(r.solved_seconds, 1) for r in solved),
            "final_mse": sorted(round(r.final_mse, 4) for r in rs),
            "budget_steps": rs[0].budget_steps,
        })
    return rows


def run_adding_benchmarks(configs, workers: int = 1) -> list:
    """Run several :func:`adding_benchmark` calls (each a dict of its keyword arguments).

    ``workers=2`` runs two at a time in separate processes (one CPU core each on a 2-core laptop;
    :func:`rnn_course.runtime.parallel_map`); every run is seeded inside :func:`adding_benchmark`, so the
    numbers do not depend on ``workers`` — only the seconds do, if the machine is busy. Records come back in
    the order of ``configs``.
    """
    return parallel_map(adding_benchmark, configs, workers)
