"""Evaluation metrics in plain NumPy (each cross-checked against an independent library in tests)."""

from __future__ import annotations

import math

import numpy as np

from rnn_course.errors import CourseError


def _as_vector(values, name):
    """A 1-D array of ``values``; ``None``, a scalar or a string is an error naming the argument."""
    if values is None or isinstance(values, (str, bytes)) or np.ndim(values) == 0:
        raise CourseError(f"{name} must be a sequence of labels or values, got {type(values).__name__}")
    array = np.asarray(values)
    if array.ndim > 2 or array.ndim == 2 and 1 not in array.shape:
        raise CourseError(f"{name} must be one-dimensional, got shape {array.shape}")
    return array.reshape(-1)


def _pair(y_true, y_pred):
    y_true, y_pred = _as_vector(y_true, "y_true"), _as_vector(y_pred, "y_pred")
    if y_true.shape != y_pred.shape:
        raise CourseError(f"y_true has {y_true.size} items but y_pred has {y_pred.size}")
    if y_true.size == 0:
        raise CourseError("cannot score an empty set of predictions")
    return y_true, y_pred


def _class_ids(values, name):
    """Class labels as int64: integers (or integral floats, or booleans) ≥ 0, nothing else."""
    if values.dtype == bool:
        return values.astype(np.int64)
    if not np.issubdtype(values.dtype, np.number):
        raise CourseError(f"{name} must hold integer class ids 0, 1, …, got {values.dtype} values such as {values[0]!r}")
    if not np.all(np.isfinite(values)) or np.any(values != np.round(values)):
        raise CourseError(f"{name} must hold integer class ids, got a fractional or non-finite value")
    if np.any(values < 0):
        raise CourseError(f"{name} must hold class ids ≥ 0, got {values.min():g}")
    return values.astype(np.int64)


def _class_pair(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred)
    return _class_ids(y_true, "y_true"), _class_ids(y_pred, "y_pred")


def accuracy(y_true, y_pred) -> float:
    y_true, y_pred = _pair(y_true, y_pred)
    return float(np.mean(y_true == y_pred))


def confusion_matrix(y_true, y_pred, num_classes=None) -> np.ndarray:
    """C[i, j] = number of items with true class i predicted as j."""
    y_true, y_pred = _class_pair(y_true, y_pred)
    largest = int(max(y_true.max(), y_pred.max()))
    k = largest + 1 if num_classes is None else int(num_classes)
    if k <= largest:
        raise CourseError(f"num_classes={num_classes} but a label is {largest}")
    matrix = np.zeros((k, k), dtype=np.int64)
    np.add.at(matrix, (y_true, y_pred), 1)
    return matrix


def _safe_div(a, b):
    return a / b if b else 0.0


def precision_recall_f1(y_true, y_pred, average="binary", pos_label=1):
    """(precision, recall, F1). ``average="binary"`` scores ``pos_label``; ``"macro"`` averages the
    per-class scores. A score with a zero denominator is 0 (as scikit-learn's ``zero_division=0``)."""
    y_true, y_pred = _class_pair(y_true, y_pred)

    def one(label):
        tp = np.sum((y_pred == label) & (y_true == label))
        p = _safe_div(tp, np.sum(y_pred == label))
        r = _safe_div(tp, np.sum(y_true == label))
        return float(p), float(r), float(_safe_div(2 * p * r, p + r))

    if average == "binary":
        return one(pos_label)
    if average == "macro":
        scores = np.array([one(c) for c in np.union1d(y_true, y_pred)])
        return tuple(float(v) for v in scores.mean(axis=0))
    raise CourseError(f"average must be 'binary' or 'macro', got {average!r}")


def perplexity(mean_cross_entropy: float) -> float:
    """exp(mean negative log-likelihood per token, in nats)."""
    if isinstance(mean_cross_entropy, bool) or not isinstance(mean_cross_entropy, (int, float, np.number)):
        raise CourseError(f"mean_cross_entropy must be a number, got {type(mean_cross_entropy).__name__}")
    if not math.isfinite(mean_cross_entropy) or mean_cross_entropy < 0:
        raise CourseError(f"mean_cross_entropy must be a finite number ≥ 0, got {mean_cross_entropy}")
    if mean_cross_entropy > 700:  # exp(709.8) is the largest float64
        raise CourseError(f"mean_cross_entropy={mean_cross_entropy:g} nats is far too large: exp() overflows")
    return math.exp(mean_cross_entropy)


def classification_report(y_true, y_pred) -> dict:
    """Accuracy plus binary precision/recall/F1 for the positive class, as a dict."""
    p, r, f = precision_recall_f1(y_true, y_pred)
    return {"accuracy": accuracy(y_true, y_pred), "precision": p, "recall": r, "f1": f}


def rmse(y_true, y_pred) -> float:
    y_true, y_pred = _pair(y_true, y_pred)
    return float(np.sqrt(np.mean((y_true.astype(float) - y_pred.astype(float)) ** 2)))


# --------------------------------------------------------------------------------------------
# Sequence outputs (translation)
# --------------------------------------------------------------------------------------------
def _ngram_counts(tokens, n):
    counts: dict = {}
    for i in range(len(tokens) - n + 1):
        gram = tuple(tokens[i : i + n])
        counts[gram] = counts.get(gram, 0) + 1
    return counts


def _token_list(tokens, name):
    if isinstance(tokens, (str, bytes)):
        raise CourseError(f"each {name} must be a list of tokens, not a string (split it into tokens first)")
    try:
        return list(tokens)
    except TypeError:
        raise CourseError(f"each {name} must be a list of tokens, got {type(tokens).__name__}") from None


def _corpus_pair(hypotheses, references):
    for value, name in ((hypotheses, "hypotheses"), (references, "references")):
        if value is None or isinstance(value, (str, bytes)):
            raise CourseError(f"{name} must be a list of token lists, got {type(value).__name__}")
    hypotheses = [_token_list(h, "hypothesis") for h in hypotheses]
    references = [_token_list(r, "reference") for r in references]
    if len(hypotheses) != len(references):
        raise CourseError(f"{len(hypotheses)} hypotheses but {len(references)} references")
    if not hypotheses:
        raise CourseError("cannot score an empty set of translations")
    return hypotheses, references


def corpus_bleu(hypotheses, references, max_order: int = 4) -> float:
    """Corpus BLEU (Papineni et al. 2002) on 0–100. Each reference is a token list or a list of token
    lists (several references: clipping by the largest count in any reference, reference length the
    closest to the hypothesis, the shorter on a tie — as sacrebleu).

    Clipped n-gram matches and n-gram totals are summed over the whole corpus for n = 1…``max_order``;
    BLEU = BP · exp(mean log p_n) with brevity penalty BP = exp(1 − r/c) when the total hypothesis
    length c is below the total reference length r (BP = 0 when c = 0). Without smoothing, any p_n = 0
    makes BLEU 0 — also for an empty corpus of hypotheses. Equals ``sacrebleu.corpus_bleu`` with
    ``tokenize="none", smooth_method="none"`` on the same (space-joined) tokens.
    """
    if isinstance(max_order, bool) or not isinstance(max_order, (int, np.integer)) or max_order < 1:
        raise CourseError(f"max_order must be an integer ≥ 1, got {max_order!r}")
    hypotheses, references = _corpus_pair(hypotheses, references)
    correct, total = [0] * max_order, [0] * max_order
    hyp_len = ref_len = 0
    for hyp, ref in zip(hypotheses, references, strict=True):
        refs = ref if ref and isinstance(ref[0], (list, tuple)) else [ref]  # one or several references
        closest = min((len(r) for r in refs), key=lambda n: (abs(n - len(hyp)), n))  # as sacrebleu
        hyp_len, ref_len = hyp_len + len(hyp), ref_len + closest
        for n in range(1, max_order + 1):
            hyp_counts, ref_counts = _ngram_counts(hyp, n), {}
            for r in refs:  # clip by the largest count of each n-gram in any one reference
                for gram, count in _ngram_counts(r, n).items():
                    ref_counts[gram] = max(count, ref_counts.get(gram, 0))
            correct[n - 1] += sum(min(c, ref_counts.get(g, 0)) for g, c in hyp_counts.items())
            total[n - 1] += max(len(hyp) - n + 1, 0)
    if hyp_len == 0 or min(correct) == 0:
        return 0.0
    log_precision = sum(math.log(c / t) for c, t in zip(correct, total, strict=True)) / max_order
    brevity = 1.0 if hyp_len >= ref_len else math.exp(1.0 - ref_len / hyp_len)
    return 100.0 * brevity * math.exp(log_precision)


def exact_match(hypotheses, references) -> float:
    """Fraction of hypotheses whose token sequence equals its reference exactly."""
    hypotheses, references = _corpus_pair(hypotheses, references)
    return sum(h == r for h, r in zip(hypotheses, references, strict=True)) / len(hypotheses)
