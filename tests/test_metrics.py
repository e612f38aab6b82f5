"""Our metrics agree with scikit-learn (an independent implementation)."""

import math

import numpy as np
import pytest
from sklearn import metrics as skm

from rnn_course import metrics
from rnn_course.errors import CourseError


@pytest.mark.parametrize("seed", range(5))
def test_classification_metrics_match_sklearn(seed):
    rng = np.random.default_rng(seed)
    y_true, y_pred = rng.integers(0, 2, 200), rng.integers(0, 2, 200)
    assert metrics.accuracy(y_true, y_pred) == pytest.approx(skm.accuracy_score(y_true, y_pred))
    p, r, f = metrics.precision_recall_f1(y_true, y_pred)
    sp, sr, sf, _ = skm.precision_recall_fscore_support(y_true, y_pred, average="binary", zero_division=0)
    assert (p, r, f) == pytest.approx((sp, sr, sf))
    p, r, f = metrics.precision_recall_f1(y_true, y_pred, average="macro")
    sp, sr, sf, _ = skm.precision_recall_fscore_support(y_true, y_pred, average="macro", zero_division=0)
    assert (p, r, f) == pytest.approx((sp, sr, sf))
    assert np.array_equal(metrics.confusion_matrix(y_true, y_pred), skm.confusion_matrix(y_true, y_pred))


def test_multiclass_macro_and_confusion():
    rng = np.random.default_rng(9)
    y_true, y_pred = rng.integers(0, 4, 300), rng.integers(0, 4, 300)
    sp, sr, sf, _ = skm.precision_recall_fscore_support(y_true, y_pred, average="macro", zero_division=0)
    assert metrics.precision_recall_f1(y_true, y_pred, average="macro") == pytest.approx((sp, sr, sf))
    assert np.array_equal(metrics.confusion_matrix(y_true, y_pred), skm.confusion_matrix(y_true, y_pred))


def test_zero_division_is_zero():
    assert metrics.precision_recall_f1([0, 0, 0], [0, 0, 0]) == (0.0, 0.0, 0.0)


def test_perplexity_matches_log_loss():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(6), size=50)
    labels = rng.integers(0, 6, 50)
    ce = -np.mean(np.log(probs[np.arange(50), labels]))
    assert metrics.perplexity(ce) == pytest.approx(math.exp(skm.log_loss(labels, probs, labels=range(6))))
    assert metrics.perplexity(0.0) == 1.0
    with pytest.raises(CourseError):
        metrics.perplexity(float("nan"))


def test_rmse_matches_sklearn():
    rng = np.random.default_rng(1)
    a, b = rng.random(40), rng.random(40)
    assert metrics.rmse(a, b) == pytest.approx(math.sqrt(skm.mean_squared_error(a, b)))


def test_bad_input_is_clear():
    with pytest.raises(CourseError, match="items"):
        metrics.accuracy([1, 0], [1])
    with pytest.raises(CourseError, match="empty"):
        metrics.accuracy([], [])
