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


# --------------------------------------------------------------------------------------------
# Several references and sacrebleu's 13a tokenisation (the translation chapter's BLEU)
# --------------------------------------------------------------------------------------------
def sacre_multi(hyps, refs):
    """sacrebleu with a variable number of references per sentence (missing ones are None)."""
    most = max(len(r) for r in refs)
    streams = [[r[i] if i < len(r) else None for r in refs] for i in range(most)]
    return sacrebleu.corpus_bleu(hyps, streams, tokenize="13a").score


@pytest.mark.parametrize("seed", range(6))
def test_multi_reference_matches_sacrebleu(seed):
    rng = np.random.default_rng(seed)
    vocab = ["a", "b", "c", "d", "e", "f"]
    refs = [[[vocab[i] for i in rng.integers(0, 6, rng.integers(2, 9))] for _ in range(rng.integers(1, 4))]
            for _ in range(30)]
    hyps = [noisy_copy(rng, r[rng.integers(len(r))], vocab) for r in refs]
    ours = corpus_bleu(hyps, refs)
    theirs = sacre_multi([" ".join(h) for h in hyps], [[" ".join(x) for x in r] for r in refs])
    assert ours == pytest.approx(theirs, abs=1e-9)
    single = corpus_bleu(hyps, [r[0] for r in refs])
    assert ours >= single - 1e-9  # more references can only match more


def test_closest_reference_length_ties_take_the_shorter():
    hyp = [list("abcde")]
    refs = [[list("abcdef"), list("abcd")]]  # both at distance 1: the shorter (4) is used → no penalty
    assert corpus_bleu(hyp, refs) == pytest.approx(sacre_multi(["a b c d e"], [["a b c d e f", "a b c d"]]))


def test_13a_tokenizer_equals_sacrebleu_on_the_corpus():
    from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

    from rnn_course import translation as tr

    theirs = Tokenizer13a()
    lines = [english for english, _, _ in tr.read_raw_pairs()]
    lines += ["It's 3.5 km, isn't it?", "He said: \"no\" & left.", "1-2 (a) [b] {c} 5,000 x.y"]
    for line in lines:
        assert tr.tokenize_13a(line) == theirs(line).split(), line


def test_bleu_equals_sacrebleu_13a_on_the_test_split():
    """The score `rnn-course translate evaluate` reports: all references of each test source."""
    from rnn_course import translation as tr

    splits = tr.split_by_source(tr.load_pairs(max_len=12))
    test = splits["test"]
    assert sum(len(refs) > 1 for _, refs in test) > 100  # multi-reference sources really occur
    hyps = tr.RetrievalTranslator(splits["train"]).translate([s for s, _ in test])
    refs = tr.references_text(test)
    ours = tr.bleu(hyps, refs)
    assert ours == pytest.approx(sacre_multi(hyps, refs), abs=1e-9)
    assert ours > tr.bleu(hyps, [r[:1] for r in refs])  # the extra references count
