"""Seq2seq: the generated task, the masked loss, attention weights, greedy decoding and beam search."""

import itertools

import numpy as np
import paddle
import pytest

from rnn_course import seq2seq as s2s
from rnn_course.errors import CourseError

CN = {c: i for i, c in enumerate("零一二三四五六七八九")}


def parse_chinese(text):
    """Independent parser: value = Σ digit·unit within 万-groups."""
    total, section, digit = 0, 0, 0
    for ch in text:
        if ch in CN:
            digit = CN[ch]
        elif ch == "万":
            total += (section + digit) * 10000
            section, digit = 0, 0
        else:
            section += (digit or 1) * {"十": 10, "百": 100, "千": 1000}[ch]
            digit = 0
    return total + section + digit


@pytest.mark.parametrize("n, text", [(0, "零"), (7, "七"), (10, "十"), (15, "十五"), (110, "一百一十"),
                                     (3052, "三千零五十二"), (1012, "一千零一十二"), (10052, "一万零五十二"),
                                     (100000, "十万"), (150000, "十五万"), (20000001, "二千万零一"),
                                     (10101010, "一千零一十万一千零一十"), (99999999, "九千九百九十九万九千九百九十九")])
def test_chinese_numerals(n, text):
    assert s2s.to_chinese_numeral(n) == text


def test_numerals_round_trip_and_are_unique():
    rng = np.random.default_rng(0)
    numbers = np.unique(s2s.sample_numbers(3000, rng))
    texts = [s2s.to_chinese_numeral(int(x)) for x in numbers]
    assert [parse_chinese(t) for t in texts] == numbers.tolist()
    assert len(set(texts)) == len(texts)
    with pytest.raises(CourseError):
        s2s.to_chinese_numeral(10**8)


def test_splits_are_disjoint_fixed_and_long_test_is_longer():
    a = s2s.numeral_splits(n_train=500, n_valid=50, n_test=50, seed=3)
    b = s2s.numeral_splits(n_train=500, n_valid=50, n_test=50, seed=3)
    assert a == b
    keys = {name: {"".join(t) for _, t in pairs} for name, pairs in a.items()}
    for x, y in itertools.combinations(keys, 2):
        assert not keys[x] & keys[y], (x, y)
    assert max(len(s) for s, _ in a["train"]) <= 10 < min(len(s) for s, _ in a["test_long"])
    assert all(parse_chinese("".join(s)) == int("".join(t)) for s, t in a["test"])


def test_batches_teacher_forcing_layout():
    src_vocab, tgt_vocab = s2s.numeral_vocabs()
    pairs = [(list("三千零五十二"), list("3052")), (list("七"), list("7"))]
    src, src_len, tgt_in, tgt_out = next(iter(s2s.PairBatches(pairs, src_vocab, tgt_vocab, batch_size=2)))
    assert src.shape == (2, 6) and src_len.tolist() == [6, 1]
    assert tgt_vocab.decode(tgt_in[0]) == ["<bos>", "3", "0", "5", "2"]
    assert tgt_vocab.decode(tgt_out[0]) == ["3", "0", "5", "2", "<eos>"]
    assert tgt_in[1].tolist()[2:] == [0, 0, 0] and tgt_out[1].tolist()[2:] == [0, 0, 0]


def test_masked_loss_ignores_padding_entirely():
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((3, 5, 7)).astype(np.float32)
    target = np.array([[4, 5, 3, 0, 0], [6, 3, 0, 0, 0], [4, 4, 4, 5, 3]])
    log_p = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    real = target != 0
    expected = -log_p[np.arange(3)[:, None], np.arange(5)[None], target][real].mean()
    x = paddle.to_tensor(logits, stop_gradient=False)
    loss = s2s.masked_cross_entropy(x, paddle.to_tensor(target))
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    loss.backward()
    grad = x.grad.numpy()
    assert np.all(grad[~real] == 0) and np.abs(grad[real]).sum() > 0
    changed = logits.copy()
    changed[~real] = 100.0 * rng.standard_normal(changed[~real].shape)  # garbage in padded positions
    again = s2s.masked_cross_entropy(paddle.to_tensor(changed), paddle.to_tensor(target)).item()
    assert again == pytest.approx(loss.item(), rel=1e-6)


def tiny_model(attention=True, seed=0, tgt_vocab=6, sharpen=1.0):
    paddle.seed(seed)
    model = s2s.Seq2Seq(8, tgt_vocab, embed_size=5, hidden_size=6, attention=attention)
    model.out.weight.set_value(model.out.weight * sharpen)
    model.eval()
    return model


@pytest.mark.parametrize("attention", [True, False])
def test_source_padding_changes_nothing(attention):
    model = tiny_model(attention)
    src = paddle.to_tensor([[4, 5, 6, 7, 0, 0], [4, 5, 6, 7, 5, 6]])
    lengths = paddle.to_tensor([4, 6])
    tgt_in = paddle.to_tensor([[2, 4, 5], [2, 4, 5]])
    batch_logits, weights = model.teacher_forced(src, lengths, tgt_in)
    alone_logits, _ = model.teacher_forced(src[:1, :4], lengths[:1], tgt_in[:1])
    np.testing.assert_allclose(batch_logits[:1].numpy(), alone_logits.numpy(), atol=1e-6)
    if attention:
        w = weights.numpy()  # (batch, T, S)
        np.testing.assert_allclose(w.sum(-1), 1.0, atol=1e-6)
        assert np.all(w[0, :, 4:] == 0.0) and np.all(w[0, :, :4] > 0)


@pytest.mark.parametrize("attention", [True, False])
def test_beam_size_one_is_greedy(attention):
    rng = np.random.default_rng(1)
    for seed in range(4):
        model = tiny_model(attention, seed, tgt_vocab=9, sharpen=3.0)
        src = rng.integers(3, 8, size=(5, 6))
        lengths = np.array([6, 3, 1, 5, 4])
        greedy = s2s.greedy_decode(model, src, lengths, max_len=7)
        for i in range(5):
            tokens, score = s2s.beam_search(model, src[i : i + 1, : lengths[i]], lengths[i : i + 1], 1, 7)
            assert tokens == greedy[i]
            ended = len(tokens) < 7
            assert score == pytest.approx(s2s.sequence_log_prob(model, src[i : i + 1], lengths[i : i + 1],
                                                                tokens, end_with_eos=ended), abs=1e-4)


def all_outputs(allowed, eos, max_len):
    """Every candidate output: up to max_len−1 tokens then <eos>, or max_len tokens cut off."""
    for n in range(max_len):
        for body in itertools.product(allowed, repeat=n):
            yield list(body), True
    for body in itertools.product(allowed, repeat=max_len):
        yield list(body), False


@pytest.mark.parametrize("attention", [True, False])
def test_beam_search_finds_the_exhaustive_best(attention):
    greedy_was_beaten = False
    for seed in range(6):
        model = tiny_model(attention, seed, tgt_vocab=6, sharpen=4.0)  # emits <eos>=3, 4, 5
        src, lengths = np.array([[4, 6, 5]]), np.array([3])
        scored = [(s2s.sequence_log_prob(model, src, lengths, body, end_with_eos=ended), body)
                  for body, ended in all_outputs([4, 5], eos=3, max_len=4)]
        best_score, best = max(scored, key=lambda p: p[0])
        tokens, score = s2s.beam_search(model, src, lengths, beam_size=len(scored), max_len=4)
        assert tokens == best and score == pytest.approx(best_score, abs=1e-4)
        small_tokens, small_score = s2s.beam_search(model, src, lengths, beam_size=3, max_len=4)
        assert small_score <= best_score + 1e-6
        greedy = s2s.greedy_decode(model, src, lengths, max_len=4)[0]
        greedy_score = next(s for s, b in scored if b == greedy)
        greedy_was_beaten |= greedy_score < best_score - 1e-6
    assert greedy_was_beaten, "the test models never make greedy decoding sub-optimal"


def test_log_probs_is_log_softmax_with_banned_tokens():
    model = tiny_model(tgt_vocab=9)
    logits = paddle.to_tensor(20 * np.random.default_rng(0).standard_normal((5, 9)).astype("float32"))
    expected = paddle.nn.functional.log_softmax(logits, axis=-1).numpy()
    expected[:, [0, 1, 2]] = -np.inf
    got = model.log_probs(logits).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert np.all(got.argmax(-1) == expected.argmax(-1))


def test_beam_search_errors():
    model = tiny_model()
    with pytest.raises(CourseError):
        s2s.beam_search(model, [[4, 5]], [2], beam_size=0)
    with pytest.raises(CourseError):
        s2s.beam_search(model, [[4, 5], [4, 5]], [2, 2])
