"""Forecasting: offline series, chronological windows, train-only scaling and baselines
(the linear AR is checked against statsmodels' AutoReg, an independent implementation)."""

import numpy as np
import pytest

from rnn_course import forecasting as fc
from rnn_course.data import noisy_sine
from rnn_course.errors import CourseError
from rnn_course.metrics import rmse


@pytest.mark.parametrize("name, length", [("sunspots", 309), ("co2", 526), ("elnino", 732)])
def test_series_load_offline_without_gaps(name, length):
    series = fc.load_series(name)  # conftest blocks the network
    assert series.shape == (length,) and np.isfinite(series).all()
    with pytest.raises(CourseError, match="unknown series"):
        fc.load_series("airline")


def test_split_windows_are_chronological_and_cover_every_target_once():
    series = np.arange(100, dtype=np.float32)
    n_train, n_valid, n_test = fc.split_sizes(100)
    assert (n_train, n_valid, n_test) == (70, 15, 15)
    parts = fc.split_windows(series, window=5, n_train=n_train, n_valid=n_valid)
    targets = np.concatenate([parts[k][1][:, 0] for k in ("train", "valid", "test")])
    assert targets.tolist() == list(range(5, 100))
    assert parts["train"][1].max() < 70 <= parts["valid"][1].min()
    assert parts["valid"][1].max() < 85 <= parts["test"][1].min()
    X, y = parts["test"]
    np.testing.assert_array_equal(X[:, :, 0], y - 5 + np.arange(5)[None, :])  # the 5 values just before
    with pytest.raises(CourseError):
        fc.split_windows(series, window=80, n_train=70, n_valid=15)


def test_scaler_uses_training_statistics_only():
    series = np.concatenate([np.linspace(0, 1, 70), np.linspace(5, 9, 30)])
    scaler = fc.Scaler.fit(series[:70])
    assert scaler.mean == pytest.approx(0.5) and scaler.std == pytest.approx(series[:70].std())
    z = scaler.transform(series)
    assert abs(z[:70].mean()) < 1e-12 and z[70:].min() > 5  # later values fall outside the training range
    np.testing.assert_allclose(scaler.inverse(z), series)
    with pytest.raises(CourseError):
        fc.Scaler.fit([3.0, 3.0, 3.0])


def test_naive_baselines():
    X = np.arange(24, dtype=np.float32).reshape(2, 12, 1)
    np.testing.assert_array_equal(fc.persistence_forecast(X)[:, 0], [11, 23])
    np.testing.assert_array_equal(fc.seasonal_naive_forecast(X, 12)[:, 0], [0, 12])
    np.testing.assert_array_equal(fc.seasonal_naive_forecast(X, 1), fc.persistence_forecast(X))
    with pytest.raises(CourseError):
        fc.seasonal_naive_forecast(X, 13)


@pytest.mark.parametrize("name, order", [("sunspots", 9), ("elnino", 12)])
def test_linear_ar_equals_statsmodels_autoreg(name, order):
    from statsmodels.tsa.ar_model import AutoReg

    train = fc.load_series(name)[:200]
    X, y = fc.split_windows(train, order, 200 - 20, 10)["train"]
    ours = fc.fit_linear_ar(X, y)
    sub = train[: 200 - 20]  # the targets of the training windows end at n_train
    theirs = AutoReg(sub, lags=order, trend="c").fit().params
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(fc.predict_linear_ar(ours, X)[:, 0],
                               AutoReg(sub, lags=order, trend="c").fit().fittedvalues, rtol=1e-4, atol=1e-3)


def test_linear_ar_recovers_known_coefficients():
    rng = np.random.default_rng(0)
    x = np.zeros(5000)
    for t in range(2, 5000):
        x[t] = 0.3 + 0.6 * x[t - 1] - 0.2 * x[t - 2] + 0.1 * rng.standard_normal()
    X, y = fc.split_windows(x, 2, 4000, 500)["train"]
    np.testing.assert_allclose(fc.fit_linear_ar(X, y), [0.3, 0.6, -0.2], atol=0.02)


def test_random_walk_persistence_is_the_right_baseline():
    walk = fc.random_walk(2000, seed=1)
    np.testing.assert_array_equal(walk, fc.random_walk(2000, seed=1))
    assert walk[0] == 100.0 and np.std(np.diff(walk)) == pytest.approx(1.0, abs=0.05)
    parts = fc.split_windows(walk, 12, *fc.split_sizes(2000)[:2])
    X, y = parts["test"]
    ar = fc.predict_linear_ar(fc.fit_linear_ar(*parts["train"]), X)
    assert rmse(y, fc.persistence_forecast(X)) <= rmse(y, ar) * 1.02  # nothing beats "tomorrow = today"


def test_lstm_forecaster_beats_persistence_on_a_sine():
    series = noisy_sine(400, period=20, noise=0.05, seed=0)
    n_train, n_valid, _ = fc.split_sizes(len(series))
    parts = fc.split_windows(series, 20, n_train, n_valid)
    model, history = fc.train_forecaster(parts, hidden_size=16, epochs=15, patience=None)
    X, y = parts["test"]
    assert history.best_epoch is not None
    assert rmse(y, fc.forecast(model, X)) < 0.5 * rmse(y, fc.persistence_forecast(X))


def test_recursive_ar_forecast_equals_statsmodels_dynamic_prediction():
    from statsmodels.tsa.ar_model import AutoReg

    train = fc.load_series("sunspots")[:250]
    order = 9
    coef = fc.fit_linear_ar(*fc.split_windows(np.append(train, np.zeros(2)), order, 250, 1)["train"])
    ours = fc.recursive_forecast(lambda X: fc.predict_linear_ar(coef, X), train[-order:], 15)
    theirs = AutoReg(train, lags=order, trend="c").fit().predict(start=250, end=264)
    np.testing.assert_allclose(ours, theirs, rtol=1e-3, atol=1e-2)
    flat = fc.recursive_forecast(fc.persistence_forecast, train[-order:], 5)
    np.testing.assert_array_equal(flat, np.full(5, np.float32(train[-1])))
    with pytest.raises(CourseError):
        fc.recursive_forecast(fc.persistence_forecast, train[-3:], 0)
