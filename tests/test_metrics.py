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


# --- bad inputs: a CourseError naming the argument, never a silent wrong number -------------
@pytest.mark.parametrize("call, names", [
    (lambda: metrics.accuracy(None, None), "y_true"),  # used to return 1.0
    (lambda: metrics.accuracy(1, 1), "y_true"),
    (lambda: metrics.accuracy("ab", "ab"), "y_true"),
    (lambda: metrics.confusion_matrix([-1, 0], [0, 0]), "y_true"),  # used to return [[2]]
    (lambda: metrics.confusion_matrix([0.5, 1], [0, 1]), "y_true"),  # used to truncate 0.5 to 0
    (lambda: metrics.confusion_matrix([0, 2], [0, 1], num_classes=2), "num_classes"),
    (lambda: metrics.precision_recall_f1(["pos", "neg"], ["pos", "pos"]), "y_true"),  # used to give 0, 0, 0
    (lambda: metrics.corpus_bleu(["the cat"], ["the cat"]), "list of tokens"),  # used to score characters
    (lambda: metrics.corpus_bleu("the cat", "the cat"), "hypotheses"),
    (lambda: metrics.corpus_bleu([["a"]], [["a"]], max_order=0), "max_order"),  # used to fail inside min()
    (lambda: metrics.perplexity(1000), "mean_cross_entropy"),  # used to raise OverflowError
    (lambda: metrics.perplexity("2"), "mean_cross_entropy"),
])
def test_bad_inputs_raise_a_course_error_naming_the_argument(call, names):
    with pytest.raises(CourseError, match=names):
        call()


def test_integral_floats_and_booleans_are_valid_class_labels():
    assert metrics.confusion_matrix([0.0, 1.0], [True, False]).tolist() == [[0, 1], [1, 0]]
