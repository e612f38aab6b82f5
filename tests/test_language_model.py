"""Character LM data, n-gram baselines, masked loss, perplexity, save/load and the shipped model."""

import json
import math
from collections import Counter

import numpy as np
import paddle
import pytest

from rnn_course import checkpoints
from rnn_course import language_model as lm_module
from rnn_course.data import Reviews
from rnn_course.errors import CourseError
from rnn_course.language_model import (
    BOS,
    DEFAULT_CONFIG,
    EOS,
    NEG,
    POS,
    LMBatches,
    NGramLM,
    build_lm_vocab,
    check_config,
    count_targets,
    default_model_dir,
    encode_review,
    encode_reviews,
    load_language_model,
    make_language_model,
    make_lm_batch,
    mix_log_probs,
    model_perplexity,
    perplexity_from_log_probs,
    save_language_model,
    token_log_probs,
    train_language_model,
    tune_mixture,
    tune_ngram,
)
from rnn_course.language_model import (
    model_nll as lm_nll,
)
from rnn_course.train import masked_cross_entropy

TEXTS = ["房间很好", "房间不好", "服务很好很好", "不好不好", "很好"]


@pytest.fixture
def vocab():
    return build_lm_vocab(TEXTS, max_vocab=4)


def test_vocab_cap_specials_and_unk(vocab):
    assert vocab.itos[:6] == ["<pad>", "<unk>", BOS, EOS, POS, NEG]
    assert len(vocab) == 6 + 4
    counts = Counter("".join(TEXTS))
    kept = set(vocab.itos[6:])
    assert all(counts[c] >= counts[d] for c in kept for d in set(counts) - kept)
    ids = encode_review("房间很好", vocab, label="pos")
    assert ids[0] == vocab.stoi[POS] and ids[-1] == vocab.stoi[EOS]
    assert encode_review("务", vocab)[1] == vocab.unk_id  # a capped-out character becomes <unk>
    assert encode_review("很好很好", vocab, label=0, max_chars=3)[:1] == [vocab.stoi[NEG]]
    assert len(encode_review("很好很好", vocab, max_chars=3)) == 5
    with pytest.raises(CourseError, match="label"):
        encode_review("很好", vocab, label="great")


def test_batch_shift_and_padding():
    inputs, targets = make_lm_batch([[4, 7, 8, 3], [5, 9, 3]])
    np.testing.assert_array_equal(inputs, [[4, 7, 8], [5, 9, 0]])
    np.testing.assert_array_equal(targets, [[7, 8, 3], [9, 3, 0]])
    with pytest.raises(CourseError):
        make_lm_batch([])


def test_batches_cover_every_sequence_once():
    rng = np.random.default_rng(0)
    seqs = [[2, *rng.integers(6, 20, size=n).tolist(), 3] for n in rng.integers(1, 30, size=103)]
    batches = list(LMBatches(seqs, batch_size=8, shuffle=True, pool=3))
    assert len(batches) == len(LMBatches(seqs, 8)) == 13
    seen = sorted(tuple(row[row != 0].tolist()) + (int(t[t != 0][-1]),) for inp, tgt in batches
                  for row, t in zip(inp, tgt, strict=True))
    assert seen == sorted(tuple(s) for s in seqs)
    assert sum(int((tgt != 0).sum()) for _, tgt in batches) == count_targets(seqs)


def _toy_sequences():
    rng = np.random.default_rng(1)
    return [[2, *rng.integers(4, 9, size=rng.integers(2, 9)).tolist(), 3] for _ in range(40)]


@pytest.mark.parametrize("order", [1, 2, 3])
def test_ngram_distributions_sum_to_one(order):
    seqs = _toy_sequences()
    model = NGramLM(order, vocab_size=10).fit(seqs)
    for context in ([2], [2, 5], [7, 4], [9, 9], [], [1]):  # seen, unseen and empty contexts
        dist = model.distribution(context)
        assert dist.shape == (10,) and np.all(dist > 0)
        assert abs(dist.sum() - 1.0) < 1e-12
        np.testing.assert_allclose(dist, [model.prob(context, w) for w in range(10)], rtol=1e-12)


def _reference_trigram_log_probs(train, test, V, lambdas):
    """Independent Jelinek–Mercer trigram with dense count arrays (no back-off of weights needed
    when every context is seen, which the test data guarantees)."""
    uni, bi, tri = np.zeros(V), np.zeros((V, V)), np.zeros((V, V, V))
    for s in train:
        for t in range(1, len(s)):
            uni[s[t]] += 1
            bi[s[t - 1], s[t]] += 1
            if t >= 2:
                tri[s[t - 2], s[t - 1], s[t]] += 1
    out = []
    l0, l1, l2, l3 = lambdas
    for s in test:
        for t in range(1, len(s)):
            p = l0 / V + l1 * uni[s[t]] / uni.sum() + l2 * bi[s[t - 1], s[t]] / bi[s[t - 1]].sum()
            if t >= 2:
                p += l3 * tri[s[t - 2], s[t - 1], s[t]] / tri[s[t - 2], s[t - 1]].sum()
            else:  # no trigram context at the first prediction: its weight goes to the bigram
                p += l3 * bi[s[t - 1], s[t]] / bi[s[t - 1]].sum()
            out.append(math.log(p))
    return np.array(out)


def test_trigram_perplexity_matches_independent_computation():
    seqs = _toy_sequences()
    train, test = seqs[:30], [s for s in seqs[30:] if all(
        any(tuple(t[i : i + 2]) == tuple(s[j : j + 2]) for t in seqs[:30] for i in range(len(t) - 1))
        for j in range(len(s) - 2))]
    assert test, "need test sequences whose trigram contexts were all seen"
    lambdas = (0.05, 0.15, 0.3, 0.5)
    model = NGramLM(3, 10, lambdas).fit(train)
    expected = _reference_trigram_log_probs(train, test, 10, lambdas)
    np.testing.assert_allclose(model.log_probs(test), expected, rtol=1e-12)
    assert model.perplexity(test) == pytest.approx(math.exp(-expected.mean()), rel=1e-12)


def test_unigram_perplexity_and_tuning():
    seqs = _toy_sequences()
    model = NGramLM(1, 10, (0.0, 1.0)).fit(seqs)
    counts = Counter(t for s in seqs for t in s[1:])
    n = sum(counts.values())
    expected = math.exp(-sum(c * math.log(c / n) for c in counts.values()) / n)
    assert model.perplexity(seqs) == pytest.approx(expected, rel=1e-12)
    bigram, ppl = tune_ngram(2, 10, seqs[:30], seqs[30:])
    assert ppl == pytest.approx(bigram.perplexity(seqs[30:]))
    assert ppl < tune_ngram(1, 10, seqs[:30], seqs[30:])[1]


def test_perplexity_errors():
    with pytest.raises(CourseError, match="infinite"):
        perplexity_from_log_probs([-1.0, -np.inf])
    with pytest.raises(CourseError):
        perplexity_from_log_probs([])
    with pytest.raises(CourseError):
        NGramLM(2, 10, (0.5, 0.6, 0.1))


def _numpy_log_softmax(logits):
    logits = logits.astype(np.float64)
    m = logits.max(axis=-1, keepdims=True)
    return logits - m - np.log(np.exp(logits - m).sum(axis=-1, keepdims=True))


def test_masked_loss_and_model_perplexity_match_numpy(vocab):
    seqs = encode_reviews(Reviews(TEXTS, [1, 0, 1, 0, 1]), vocab)
    model = make_language_model(len(vocab), {"embed_size": 4, "hidden_size": 8})
    inputs, targets = make_lm_batch(seqs)
    logits, _ = model(paddle.to_tensor(inputs))
    logp = _numpy_log_softmax(logits.numpy())
    picked = np.take_along_axis(logp, targets[..., None], axis=-1)[..., 0]
    expected = -picked[targets != 0].mean()
    loss = masked_cross_entropy(logits, paddle.to_tensor(targets)).item()
    assert loss == pytest.approx(expected, abs=1e-5)
    assert model_perplexity(model, seqs, batch_size=2) == pytest.approx(math.exp(expected), rel=1e-5)


def test_padding_does_not_change_the_loss(vocab):
    model = make_language_model(len(vocab), {"embed_size": 4, "hidden_size": 8})
    model.eval()
    seq = encode_review("房间很好", vocab, label=1)
    alone = make_lm_batch([seq])
    padded = make_lm_batch([seq, seq + [vocab.stoi["很"]] * 6])
    a = masked_cross_entropy(model(paddle.to_tensor(alone[0]))[0], paddle.to_tensor(alone[1])).item()
    inp, tgt = padded[0][:1], padded[1][:1]
    b = masked_cross_entropy(model(paddle.to_tensor(inp))[0], paddle.to_tensor(tgt)).item()
    assert a == pytest.approx(b, abs=1e-6)


def test_training_lowers_perplexity_and_save_load_roundtrip(vocab, tmp_path):
    seqs = encode_reviews(Reviews(TEXTS * 4, [1, 0, 1, 0, 1] * 4), vocab)
    model = make_language_model(len(vocab), {"embed_size": 8, "hidden_size": 16})
    before = model_perplexity(model, seqs)
    history = train_language_model(model, seqs, seqs, epochs=15, batch_size=4, learning_rate=2e-2)
    after = model_perplexity(model, seqs)
    assert after < before / 2
    assert history.best_value == pytest.approx(min(history.column("valid_ppl")))
    config = {"embed_size": 8, "hidden_size": 16}
    save_language_model(tmp_path, model, vocab, config, {"valid_perplexity": after})
    loaded, vocab2, config2, metrics = load_language_model(tmp_path)
    assert vocab2.itos == vocab.itos and config2 == {**DEFAULT_CONFIG, **config} and metrics["valid_perplexity"] == after
    assert model_perplexity(loaded, seqs) == pytest.approx(after, rel=1e-2)  # float16 storage


def test_embedding_rows_start_at_unit_scale():
    """N(0, 1) character embeddings (Paddle's Xavier default would give std ≈ 0.03 for 2,506 rows)."""
    paddle.seed(0)
    weight = make_language_model(2506, {"embed_size": 64}).embedding.weight.numpy()  # (V, E)
    assert 0.95 < weight.std() < 1.05 and abs(weight.mean()) < 0.01


def test_dropout_setting_is_checked_and_old_configs_load(vocab, tmp_path):
    """dropout is part of the configuration (default 0 for folders saved before it existed); bad values are refused."""
    assert check_config({})["dropout"] == 0.0
    assert check_config({"dropout": 0.2})["dropout"] == 0.2
    for bad in (1.0, -0.1, "0.2", True, None):
        with pytest.raises(CourseError, match="dropout"):
            check_config({"dropout": bad})
    model = make_language_model(len(vocab), {"embed_size": 4, "hidden_size": 8, "dropout": 0.3})
    assert model.dropout.p == 0.3
    save_language_model(tmp_path, model, vocab, {"embed_size": 4, "hidden_size": 8, "dropout": 0.3})
    config = json.loads((tmp_path / "config.json").read_text(encoding="utf-8"))
    assert config["dropout"] == 0.3
    del config["dropout"]  # a folder written before dropout existed
    checkpoints.write_json(tmp_path / "config.json", config, "config")
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    manifest["sha256"]["config.json"] = checkpoints.sha256(tmp_path / "config.json")
    checkpoints.write_json(tmp_path / "manifest.json", manifest, "manifest")
    _, _, loaded_config, _ = load_language_model(tmp_path)
    assert loaded_config["dropout"] == 0.0


def test_load_errors(vocab, tmp_path):
    with pytest.raises(CourseError, match="no language model"):
        load_language_model(tmp_path / "missing")
    model = make_language_model(len(vocab), {"embed_size": 4, "hidden_size": 8})
    save_language_model(tmp_path, model, vocab, {"embed_size": 4, "hidden_size": 8})
    (tmp_path / "weights.npz").write_bytes(b"not a zip file")
    with pytest.raises(CourseError, match="weights.npz was changed after the model was saved"):
        load_language_model(tmp_path)
    (tmp_path / "manifest.json").unlink()  # the first LM format (no manifest) is still read, and checked
    with pytest.raises(CourseError, match="corrupt"):
        load_language_model(tmp_path)
    save_language_model(tmp_path, model, vocab, {"embed_size": 4, "hidden_size": 16})
    with pytest.raises(CourseError, match="do not fit"):
        load_language_model(tmp_path)


# --------------------------------------------------------------------------------------------
# The shipped model
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def lm_data():
    from rnn_course.language_model import prepare_lm_data

    return prepare_lm_data()


def _independent_log_probs(model, sequences):
    """log p of every predicted token: one sequence at a time (no batching, no padding), NumPy log-softmax."""
    model.eval()
    out = []
    with paddle.no_grad():
        for seq in sequences:
            logits = model(paddle.to_tensor(np.array([seq[:-1]], dtype=np.int64)))[0].numpy()[0]  # (T, V)
            out.append(_numpy_log_softmax(logits)[np.arange(len(seq) - 1), seq[1:]])
    return np.concatenate(out)


def test_shipped_model_and_its_trigram_mixture_match_the_record(lm_data):
    model, vocab, config, metrics = load_language_model()
    train_vocab, data = lm_data
    assert vocab.itos == train_vocab.itos, "the shipped vocabulary differs from the one rebuilt from the corpus"
    recorded = json.loads((default_model_dir() / "metrics.json").read_text(encoding="utf-8"))
    assert recorded == metrics
    log_p = {name: _independent_log_probs(model, data[name]) for name in ("valid", "test")}
    assert log_p["valid"].size == count_targets(data["valid"]) == metrics["valid_tokens"]
    assert math.exp(-log_p["valid"].mean()) == pytest.approx(metrics["valid_perplexity"], abs=0.01)
    assert math.exp(-log_p["test"].mean()) == pytest.approx(metrics["test_perplexity"], abs=0.01)
    # the mixture with the trigram, computed directly from the two models' probabilities
    mix = metrics["trigram_mixture"]
    trigram = NGramLM(3, len(vocab), mix["trigram_lambdas"]).fit(data["train"])
    w = mix["weight"]
    for name in ("valid", "test"):
        mixed = np.log(w * np.exp(log_p[name]) + (1 - w) * np.exp(trigram.log_probs(data[name])))
        assert math.exp(-mixed.mean()) == pytest.approx(mix[f"{name}_perplexity"], abs=0.01)
    assert mix["valid_perplexity"] <= metrics["goal_valid_perplexity"] < metrics["valid_perplexity"]


def test_shipped_model_beats_the_trigram_baseline(lm_data):
    vocab, data = lm_data
    _, trigram_ppl = tune_ngram(3, len(vocab), data["train"], data["valid"])
    _, _, _, metrics = load_language_model()
    assert metrics["valid_perplexity"] < trigram_ppl



@pytest.mark.parametrize("cell_type", ["gru", "lstm"])
def test_fused_rnn_weights_are_stored_once_and_old_files_still_load(cell_type, tmp_path):
    # Paddle lists a fused GRU/LSTM weight under two names (rnn.weight_ih_l0 and rnn.0.cell.weight_ih)
    model = make_language_model(30, {"cell_type": cell_type, "num_layers": 2, "hidden_size": 8, "embed_size": 4})
    arrays = checkpoints.model_arrays(model)
    assert "rnn.weight_ih_l0" in arrays and not any(".cell." in name for name in arrays)
    assert len(arrays) == len(list(model.named_parameters()))  # every parameter once, nothing else
    for with_aliases in (False, True):  # new files, and files written before aliases were dropped
        stored = dict(arrays)
        if with_aliases:
            stored.update({k: v.numpy() for k, v in model.state_dict().items()})
        fresh = make_language_model(30, {"cell_type": cell_type, "num_layers": 2, "hidden_size": 8, "embed_size": 4})
        checkpoints.set_model_arrays(fresh, stored, tmp_path)
        for name, tensor in fresh.state_dict().items():
            np.testing.assert_array_equal(tensor.numpy(), model.state_dict()[name].numpy(), err_msg=name)
    del arrays["rnn.weight_hh_l1"]
    with pytest.raises(CourseError, match="weight_hh_l1"):
        checkpoints.set_model_arrays(model, arrays, tmp_path)


def test_token_log_probs_keep_sequence_order_and_match_unbatched_numpy(vocab):
    texts = ["房间很好很好很好", "好", "服务不好", "很好很好很好很好很好很好", "不好"] * 3
    seqs = encode_reviews(Reviews(texts, [1, 0] * 7 + [1]), vocab)
    model = make_language_model(len(vocab), {"embed_size": 4, "hidden_size": 8, "num_layers": 2, "cell_type": "lstm"})
    got = token_log_probs(model, seqs, batch_size=4)  # length buckets reorder the rows internally
    np.testing.assert_allclose(got, _independent_log_probs(model, seqs), atol=1e-5)
    total, count = lm_nll(model, seqs)
    assert count == count_targets(seqs) == got.size and total == pytest.approx(-got.sum())
    with pytest.raises(CourseError, match="no tokens"):
        token_log_probs(model, [])


def test_mixture_of_two_models():
    rng = np.random.default_rng(0)
    a, b = np.log(rng.uniform(0.01, 1, 50)), np.log(rng.uniform(0.01, 1, 50))
    np.testing.assert_allclose(mix_log_probs(a, b, 0.3), np.log(0.3 * np.exp(a) + 0.7 * np.exp(b)))
    assert mix_log_probs(np.array([-2000.0]), np.array([-2001.0]), 0.5)[0] > -2001  # no underflow to -inf
    assert tune_mixture(a, a)[1] == pytest.approx(perplexity_from_log_probs(a))  # a model mixed with itself
    # one model is right on the first half of the tokens, the other on the second: the mixture beats both
    good, bad = np.full(50, np.log(0.9)), np.full(50, np.log(0.01))
    p, q = np.r_[good, bad], np.r_[bad, good]
    weight, ppl = tune_mixture(p, q)
    assert weight == 0.5 and ppl < min(perplexity_from_log_probs(p), perplexity_from_log_probs(q)) / 4
    for weight in (0.0, 1.0, 1.5):
        with pytest.raises(CourseError, match="weight"):
            mix_log_probs(a, b, weight)
    with pytest.raises(CourseError, match="different numbers"):
        mix_log_probs(a, b[:-1], 0.5)


def test_train_and_save_records_the_trigram_mixture(vocab, tmp_path, monkeypatch):
    texts = TEXTS * 6
    seqs = encode_reviews(Reviews(texts, [1, 0, 1, 0, 1] * 6), vocab)
    monkeypatch.setattr(lm_module, "prepare_lm_data",
                        lambda *a, **k: (vocab, {"train": seqs, "valid": seqs[:10], "test": seqs[10:20]}))
    metrics = lm_module.train_and_save(tmp_path / "lm", hidden_size=8, embed_size=4, epochs=2, batch_size=4,
                                       verbose=False)
    model, _, _, saved = load_language_model(tmp_path / "lm")
    assert saved == metrics
    mix = metrics["trigram_mixture"]
    assert mix["weight"] in lm_module.MIX_WEIGHTS
    trigram = NGramLM(3, len(vocab), mix["trigram_lambdas"]).fit(seqs)
    for name, part in (("valid", seqs[:10]), ("test", seqs[10:20])):
        p = np.exp(_independent_log_probs(model, part))
        mixed = np.log(mix["weight"] * p + (1 - mix["weight"]) * np.exp(trigram.log_probs(part)))
        assert math.exp(-mixed.mean()) == pytest.approx(mix[f"{name}_perplexity"], abs=1e-3)
