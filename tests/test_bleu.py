"""corpus_bleu equals sacrebleu (an independent implementation) on the same tokens."""

import numpy as np
import pytest
import sacrebleu

from rnn_course.errors import CourseError
from rnn_course.metrics import corpus_bleu, exact_match


def sacre(hyps, refs):
    joined = [" ".join(h) for h in hyps]
    return sacrebleu.corpus_bleu(joined, [[" ".join(r) for r in refs]], tokenize="none",
                                 smooth_method="none").score


def noisy_copy(rng, ref, vocab):
    out = [t for t in ref if rng.random() > 0.15]  # deletions
    out = [vocab[rng.integers(len(vocab))] if rng.random() < 0.15 else t for t in out]  # substitutions
    if rng.random() < 0.3:
        out.insert(rng.integers(len(out) + 1), vocab[rng.integers(len(vocab))])  # insertion
    return out


@pytest.mark.parametrize("seed", range(8))
def test_matches_sacrebleu_on_random_corpora(seed):
    rng = np.random.default_rng(seed)
    vocab = [str(d) for d in range(10)] + ["a", "bb"]
    refs = [[vocab[i] for i in rng.integers(0, len(vocab), rng.integers(1, 12))] for _ in range(40)]
    hyps = [noisy_copy(rng, r, vocab) for r in refs]
    ours = corpus_bleu(hyps, refs)
    assert ours == pytest.approx(sacre(hyps, refs), abs=1e-9)
    assert 0.0 < ours < 100.0


def test_perfect_and_brevity_penalty():
    refs = [list("12345678"), list("3052")]
    assert corpus_bleu(refs, refs) == pytest.approx(100.0)
    short = [list("1234"), list("3052")]  # all n-grams correct, but too short: BP = exp(1 - 12/8)
    assert corpus_bleu(short, refs) == pytest.approx(100.0 * np.exp(1 - 12 / 8))
    assert corpus_bleu(short, refs) == pytest.approx(sacre(short, refs))
    longer = [list("123456789"), list("30521")]
    assert corpus_bleu(longer, refs) == pytest.approx(sacre(longer, refs))


def test_empty_and_short_hypotheses_are_defined():
    refs = [list("3052"), list("17")]
    assert corpus_bleu([[], []], refs) == 0.0 == sacre([[], []], refs)
    assert corpus_bleu([list("3"), list("1")], refs) == 0.0 == sacre([list("3"), list("1")], refs)  # no 4-grams
    mixed = [[], list("17")]
    assert corpus_bleu(mixed, refs) == pytest.approx(sacre(mixed, refs))


def test_clipping_counts_repeated_ngrams_once():
    hyps, refs = [list("7777")], [list("7123")]
    assert corpus_bleu(hyps, refs) == sacre(hyps, refs) == 0.0
    hyps, refs = [list("11112222")], [list("12121111")]
    assert corpus_bleu(hyps, refs) == pytest.approx(sacre(hyps, refs))


def test_exact_match_and_errors():
    assert exact_match([list("12"), list("3")], [list("12"), list("4")]) == 0.5
    with pytest.raises(CourseError):
        corpus_bleu([list("1")], [])
    with pytest.raises(CourseError):
        exact_match([], [])
