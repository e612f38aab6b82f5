"""Time-series forecasting done honestly: real series that ship offline with statsmodels, a
chronological split, a scaler fitted on the training part only, sliding windows, and the simple
baselines every neural forecaster must beat (persistence, seasonal naive, linear autoregression).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import paddle

from rnn_course.data import make_windows
from rnn_course.errors import CourseError
from rnn_course.models import SequenceRegressor
from rnn_course.runtime import shift_seed
from rnn_course.train import fit, make_optimizer, predict

SERIES = {  # name → (seasonal period, unit, description)
    "sunspots": (11, "年", "yearly sunspot numbers 1700–2008"),
    "co2": (12, "月", "monthly mean CO₂ at Mauna Loa (ppm), 1958–2001"),
    "elnino": (12, "月", "monthly Pacific sea-surface temperature (°C), 1950–2010"),
}


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------
def load_series(name: str) -> np.ndarray:
    """One of statsmodels' bundled series as float64 (no download). ``co2`` is weekly with gaps in
    the source: it is averaged per month and the few empty months are interpolated linearly."""
    if name not in SERIES:
        raise CourseError(f"unknown series {name!r}: choose one of {', '.join(SERIES)}")
    from statsmodels import datasets

    if name == "sunspots":
        return datasets.sunspots.load_pandas().data["SUNACTIVITY"].to_numpy(dtype=np.float64)
    if name == "co2":
        monthly = datasets.co2.load_pandas().data["co2"].resample("MS").mean()
        return monthly.interpolate().to_numpy(dtype=np.float64)
    table = datasets.elnino.load_pandas().data.drop(columns="YEAR")  # one row per year, 12 months
    return table.to_numpy(dtype=np.float64).reshape(-1)


def random_walk(n: int, seed=None, start: float = 100.0, sigma: float = 1.0) -> np.ndarray:
    """Simulated "prices": x_t = x_{t-1} + ε_t, ε_t ~ N(0, σ²). The best forecast of x_{t+1} is x_t."""
    rng = np.random.default_rng(shift_seed(seed))
    return start + np.concatenate([[0.0], np.cumsum(sigma * rng.standard_normal(n - 1))])


def split_sizes(n: int, fractions=(0.7, 0.15, 0.15)) -> tuple:
    """(n_train, n_valid, n_test) for a chronological split: first, middle and last part."""
    if len(fractions) != 3 or abs(sum(fractions) - 1) > 1e-9 or min(fractions) <= 0:
        raise CourseError(f"fractions must be three positive numbers summing to 1, got {fractions}")
    n_train, n_valid = int(round(fractions[0] * n)), int(round(fractions[1] * n))
    return n_train, n_valid, n - n_train - n_valid


@dataclass(frozen=True)
class Scaler:
    """Standardisation z = (x − mean) / std with statistics from the training part only."""

    mean: float
    std: float

    @classmethod
    def fit(cls, train) -> Scaler:
        train = np.asarray(train, dtype=np.float64)
        std = float(train.std())
        if train.size < 2 or std == 0.0:
            raise CourseError("the training part must hold at least two different values to fit a scaler")
        return cls(float(train.mean()), std)

    def transform(self, x):
        return (np.asarray(x, dtype=np.float64) - self.mean) / self.std

    def inverse(self, z):
        return np.asarray(z, dtype=np.float64) * self.std + self.mean


def split_windows(series, window: int, n_train: int, n_valid: int) -> dict:
    """Sliding windows grouped by where their *target* lies (chronological split).

    Returns ``{"train": (X, y), "valid": (X, y), "test": (X, y)}`` with X (n, window, 1), y (n, 1).
    A target at index t uses the inputs series[t−window : t]; the first valid/test targets may look
    back into the previous part — those values are past observations, so nothing leaks from the future.
    """
    series = np.asarray(series, dtype=np.float32).reshape(-1)
    if n_train <= window:
        raise CourseError(f"the training part ({n_train} points) must be longer than the window ({window})")
    X, y = make_windows(series, window)  # target of row i is series[i + window]
    target_index = np.arange(len(y)) + window
    bounds = {"train": (0, n_train), "valid": (n_train, n_train + n_valid), "test": (n_train + n_valid, len(series))}
    out = {}
    for name, (lo, hi) in bounds.items():
        rows = (target_index >= lo) & (target_index < hi)
        if not rows.any():
            raise CourseError(f"the {name} part holds no forecast targets: use a shorter window or longer series")
        out[name] = (X[rows], y[rows])
    return out


# --------------------------------------------------------------------------------------------
# Baselines (X: (n, window, 1) windows of past values)
# --------------------------------------------------------------------------------------------
def persistence_forecast(X) -> np.ndarray:
    """ŷ_{t+1} = x_t: tomorrow equals today. (n, 1)"""
    return np.asarray(X)[:, -1, :1].astype(np.float64)


def seasonal_naive_forecast(X, period: int) -> np.ndarray:
    """ŷ_{t+1} = x_{t+1−period}: the value one season ago. (n, 1)"""
    X = np.asarray(X)
    if not 1 <= period <= X.shape[1]:
        raise CourseError(f"seasonal period {period} needs a window of at least {period} steps, got {X.shape[1]}")
    return X[:, -period, :1].astype(np.float64)


def fit_linear_ar(X, y, order=None) -> np.ndarray:
    """Least-squares AR(p) on the last ``order`` values of each window: ŷ = c + Σ_k φ_k x_{t+1−k}.
    Returns the coefficients [c, φ_1, …, φ_p] (φ_1 multiplies the most recent value)."""
    X = np.asarray(X, dtype=np.float64)[..., 0]
    order = order or X.shape[1]
    lags = X[:, ::-1][:, :order]  # (n, p): most recent first
    design = np.column_stack([np.ones(len(lags)), lags])
    if len(design) < design.shape[1]:
        raise CourseError(f"AR({order}) needs at least {order + 1} training windows, got {len(design)}")
    coef, *_ = np.linalg.lstsq(design, np.asarray(y, dtype=np.float64).reshape(-1), rcond=None)
    return coef


def predict_linear_ar(coef, X) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)[..., 0]
    lags = X[:, ::-1][:, : len(coef) - 1]
    return (coef[0] + lags @ coef[1:])[:, None]


# --------------------------------------------------------------------------------------------
# A small LSTM forecaster trained with MSE + Adam
# --------------------------------------------------------------------------------------------
class WindowBatches:
    """A re-iterable of (X, y) float32 batches for :func:`rnn_course.train.fit`; with ``shuffle`` every
    pass draws a new order from its own seeded generator."""

    def __init__(self, X, y, batch_size=32, shuffle=False, seed=0):
        self.X, self.y, self.batch_size, self.shuffle = X, y, batch_size, shuffle
        self.rng = np.random.default_rng(shift_seed(seed))

    def __iter__(self):
        order = self.rng.permutation(len(self.X)) if self.shuffle else np.arange(len(self.X))
        for start in range(0, len(order), self.batch_size):
            index = order[start : start + self.batch_size]
            yield self.X[index].astype(np.float32), self.y[index].astype(np.float32)


def train_forecaster(windows: dict, cell_type="lstm", hidden_size=32, epochs=60, learning_rate=1e-2,
                     batch_size=32, patience=15, seed=0):
    """Fit ``SequenceRegressor`` on scaled windows (``split_windows`` output) with MSE and Adam, keeping
    the epoch with the lowest validation MSE. Returns (model, history)."""
    paddle.seed(shift_seed(seed))
    model = SequenceRegressor(input_size=1, hidden_size=hidden_size, cell_type=cell_type)
    history = fit(model, WindowBatches(*windows["train"], batch_size, shuffle=True, seed=seed),
                  optimizer=make_optimizer(model, "adam", learning_rate, clip_norm=1.0),
                  loss_fn=paddle.nn.functional.mse_loss, epochs=epochs,
                  valid_data=WindowBatches(*windows["valid"], 256), patience=patience)
    return model, history


def forecast(model, X) -> np.ndarray:
    """One-step forecasts of a trained model for windows X (n, window, 1), as float64 (n, 1)."""
    return predict(model, WindowBatches(X, np.zeros((len(X), 1)), 256)).astype(np.float64)


def recursive_forecast(step_fn, history, horizon: int) -> np.ndarray:
    """Multi-step forecast by feeding each prediction back as the newest input.

    ``step_fn(X (1, window, 1)) -> (1, 1)`` is any one-step forecaster; ``history`` holds the last
    ``window`` observed values (oldest first). Returns ``horizon`` forecasts (float64). Errors compound:
    from the second step on, the inputs contain the forecaster's own mistakes.
    """
    window = np.asarray(history, dtype=np.float64).reshape(-1).copy()
    if horizon < 1 or window.size == 0:
        raise CourseError("recursive_forecast needs a non-empty history and horizon ≥ 1")
    out = np.empty(horizon)
    for h in range(horizon):
        out[h] = float(np.asarray(step_fn(window[None, :, None].astype(np.float32))).reshape(-1)[0])
        window = np.append(window[1:], out[h])
    return out
