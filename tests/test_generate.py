"""Sampling rules (greedy, temperature, top-k), generation, and the ``rnn-course generate`` command."""

import numpy as np
import pytest

from rnn_course import cli
from rnn_course.data import Reviews
from rnn_course.errors import CourseError
from rnn_course.generate import (
    banned_ids,
    encode_prompt,
    generate_ids,
    generate_texts,
    interpolated_logits,
    next_token_probs,
    sample_from,
)
from rnn_course.language_model import (
    EOS,
    NGramLM,
    build_lm_vocab,
    encode_reviews,
    make_language_model,
    save_language_model,
    train_language_model,
)

TEXTS = ["房间很好", "房间不好", "服务很好很好", "不好不好", "很好"]


@pytest.fixture(scope="module")
def tiny():
    """A tiny LM trained for a few steps (weights far from uniform, so sampling choices matter)."""
    import rnn_course

    rnn_course.setup(0, font=False)
    vocab = build_lm_vocab(TEXTS)
    model = make_language_model(len(vocab), {"embed_size": 8, "hidden_size": 16})
    seqs = encode_reviews(Reviews(TEXTS * 4, [1, 0, 1, 0, 1] * 4), vocab)
    train_language_model(model, seqs, epochs=10, batch_size=4, learning_rate=2e-2)
    return model, vocab


def test_probs_rows_sum_to_one_and_temperature_scales():
    logits = np.random.default_rng(0).normal(size=(5, 12)) * 3
    for temperature in (0.5, 1.0, 2.0):
        probs = next_token_probs(logits, temperature)
        np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-12)
        expected = np.exp(logits / temperature) / np.exp(logits / temperature).sum(axis=1, keepdims=True)
        np.testing.assert_allclose(probs, expected, rtol=1e-10)
    # higher temperature → flatter distribution (higher entropy)
    entropy = [-(p * np.log(p)).sum() for p in (next_token_probs(logits[0], t) for t in (0.3, 1.0, 3.0))]
    assert entropy[0] < entropy[1] < entropy[2]


def test_temperature_zero_is_argmax_and_small_temperature_converges_to_it():
    logits = np.random.default_rng(1).normal(size=(4, 9))
    greedy = next_token_probs(logits, 0.0)
    np.testing.assert_array_equal(greedy.argmax(axis=1), logits.argmax(axis=1))
    np.testing.assert_array_equal(greedy.sum(axis=1), 1.0)
    np.testing.assert_allclose(next_token_probs(logits, 1e-4), greedy, atol=1e-12)


def test_top_k_never_samples_outside_the_top_k():
    rng = np.random.default_rng(2)
    logits = rng.normal(size=(200, 30))
    for k in (1, 3, 10):
        probs = next_token_probs(logits, 1.5, top_k=k)
        assert ((probs > 0).sum(axis=1) == k).all()
        top = np.argsort(-logits, axis=1)[:, :k]
        for _ in range(20):
            ids = sample_from(probs, rng)
            assert all(i in row for i, row in zip(ids, top, strict=True))


def test_banned_ids_never_sampled_and_sampling_frequencies():
    rng = np.random.default_rng(3)
    logits = np.tile(np.log([0.1, 0.2, 0.3, 0.4]), (20000, 1))
    probs = next_token_probs(logits, 1.0, banned=[0])
    ids = sample_from(probs, rng)
    assert not (ids == 0).any()
    freq = np.bincount(ids, minlength=4) / len(ids)
    np.testing.assert_allclose(freq, [0, 0.2 / 0.9, 0.3 / 0.9, 0.4 / 0.9], atol=0.015)


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf"), "hot"])
def test_bad_temperature_is_a_clear_error(bad):
    with pytest.raises(CourseError, match="temperature"):
        next_token_probs(np.zeros(3), bad)


@pytest.mark.parametrize("bad", [0, -2, 1.5, True])
def test_bad_top_k_is_a_clear_error(bad):
    with pytest.raises(CourseError, match="top-k"):
        next_token_probs(np.zeros(3), 1.0, top_k=bad)


def test_generation_with_tiny_temperature_equals_greedy(tiny):
    model, vocab = tiny
    prefix = encode_prompt("房", vocab, "pos")
    kw = {"max_new": 15, "banned": banned_ids(vocab), "eos_id": vocab.stoi[EOS]}
    greedy = generate_ids(model, [prefix] * 3, temperature=0.0, seed=0, **kw)
    cold = generate_ids(model, [prefix] * 3, temperature=1e-4, seed=5, **kw)
    assert greedy == cold
    assert greedy[0] == greedy[1] == greedy[2]  # greedy is deterministic


def test_generated_texts_are_clean(tiny):
    model, vocab = tiny
    texts = generate_texts(model, vocab, prompt="房间", label="neg", n=8, max_new=10, temperature=1.5, seed=1)
    assert len(texts) == 8
    for text in texts:
        assert text.startswith("房间") and len(text) <= 12
        assert "<" not in text  # no special token is ever written out
    assert generate_texts(model, vocab, n=2, seed=3) == generate_texts(model, vocab, n=2, seed=3)


def test_sampling_from_the_interpolated_model(tiny):
    model, vocab = tiny
    seqs = encode_reviews(Reviews(TEXTS, [1, 0, 1, 0, 1]), vocab)
    trigram = NGramLM(3, len(vocab)).fit(seqs)
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2, len(vocab)))
    contexts = [seqs[0][:3], seqs[2][:1]]
    got = interpolated_logits(logits, trigram, contexts, 0.7)
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    q = np.array([[trigram.prob(ctx, w) for w in range(len(vocab))] for ctx in contexts])
    np.testing.assert_allclose(np.exp(got), 0.7 * p + 0.3 * q, rtol=1e-10)
    np.testing.assert_allclose(next_token_probs(got), 0.7 * p + 0.3 * q, rtol=1e-10)  # already normalised
    # greedy decoding follows the n-gram when it carries almost all the weight, the RNN when it carries almost none
    prefix = encode_prompt("服", vocab, "pos")
    kw = {"max_new": 8, "temperature": 0.0, "banned": banned_ids(vocab), "eos_id": vocab.stoi[EOS]}
    by_ngram = generate_ids(model, [prefix], ngram=trigram, rnn_weight=1e-9, **kw)[0]
    history = list(prefix)
    for token in by_ngram:  # every step is the n-gram's own argmax over the allowed ids
        dist = trigram.distribution(history)
        dist[banned_ids(vocab)] = 0
        assert token == int(dist.argmax())
        history.append(token)
    assert generate_ids(model, [prefix], ngram=trigram, rnn_weight=1 - 1e-9, **kw) == generate_ids(model, [prefix], **kw)
    for weight in (0.0, 1.0):
        with pytest.raises(CourseError, match="weight"):
            generate_ids(model, [prefix], ngram=trigram, rnn_weight=weight, **kw)


def test_prompt_with_no_known_character(tiny):
    _, vocab = tiny
    with pytest.raises(CourseError, match="vocabulary"):
        encode_prompt("ӁӂӃ", vocab)
    assert encode_prompt("Ӂ房", vocab)[1:] == [vocab.unk_id, vocab.stoi["房"]]


# --------------------------------------------------------------------------------------------
# The command
# --------------------------------------------------------------------------------------------
def _run(capsys, *argv):
    code = cli.main(["generate", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_generates_with_the_shipped_model(capsys):
    code, out, err = _run(capsys, "--prompt", "房间", "--label", "pos", "--n", "2", "--max-chars", "20")
    assert code == 0 and err == ""
    lines = out.strip().splitlines()
    assert len(lines) == 2 and all(line.startswith("[pos] 房间") for line in lines)
    code, out, _ = _run(capsys, "--n", "4", "--temperature", "0", "--max-chars", "10")
    assert code == 0 and len(out.strip().splitlines()) == 4


@pytest.mark.parametrize("argv, message", [
    (["--temperature", "-0.5"], "temperature"),
    (["--temperature", "nan"], "temperature"),
    (["--top-k", "0"], "top-k"),
    (["--n", "0"], "--n"),
    (["--prompt", "ӁӂӃ"], "vocabulary"),
    (["--model", "/nonexistent/lm"], "no language model"),
])
def test_cli_errors_exit_2(capsys, argv, message):
    code, out, err = _run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.startswith("rnn-course: error:") and message in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_cli_corrupt_model_exits_2(capsys, tmp_path, tiny):
    model, vocab = tiny
    save_language_model(tmp_path, model, vocab, {"embed_size": 8, "hidden_size": 16})
    code, out, _ = _run(capsys, "--model", str(tmp_path), "--n", "1", "--max-chars", "5")
    assert code == 0 and out.startswith("[")
    (tmp_path / "weights.npz").write_bytes(b"\x00" * 100)
    code, _, err = _run(capsys, "--model", str(tmp_path))
    assert code == 2 and "corrupt" in err
    (tmp_path / "vocab.json").write_text("{not json", encoding="utf-8")
    code, _, err = _run(capsys, "--model", str(tmp_path))
    assert code == 2 and "corrupt" in err


def test_cli_interpolate_uses_the_recorded_weight_or_says_why_not(capsys, tmp_path, tiny):
    code, out, err = _run(capsys, "--interpolate", "--prompt", "房间", "--label", "neg", "--n", "2", "--max-chars", "10")
    assert code == 0 and err == "" and len(out.strip().splitlines()) == 2
    model, vocab = tiny
    save_language_model(tmp_path, model, vocab, {"embed_size": 8, "hidden_size": 16})  # records no interpolation
    code, out, err = _run(capsys, "--model", str(tmp_path), "--interpolate")
    assert code == 2 and out == "" and "no trigram interpolation" in err and len(err.strip().splitlines()) == 1


def test_cli_train_rejects_bad_settings(capsys, tmp_path):
    code = cli.main(["generate", "train", "--out", str(tmp_path), "--epochs", "0"])
    _, err = capsys.readouterr()
    assert code == 2 and "--epochs" in err
    code = cli.main(["generate", "train", "--out", str(tmp_path), "--lr", "-1"])
    _, err = capsys.readouterr()
    assert code == 2 and "--lr" in err


@pytest.fixture
def recorded_training(monkeypatch):
    """Replace the (long) training recipe by one that records the arguments `generate train` passes."""
    seen = {}

    def fake_train_and_save(out_dir, **kwargs):
        seen.update(kwargs)
        return {"valid_perplexity": 1.0, "test_perplexity": 1.0, "best_epoch": 1, "train_cpu_seconds": 0.0,
                "train_wall_seconds": 0.0}

    monkeypatch.setattr("rnn_course.cli.generate.train_and_save", fake_train_and_save)
    return seen


def test_cli_train_passes_the_number_of_layers(capsys, tmp_path, recorded_training):
    """--num-layers reaches the recipe (a stacked LM for the shipped-model search), and 0 is refused."""
    seen = recorded_training
    code = cli.main(["generate", "train", "--out", str(tmp_path / "lm"), "--num-layers", "2", "--cell", "lstm"])
    capsys.readouterr()
    assert code == 0 and seen["num_layers"] == 2 and seen["cell_type"] == "lstm"
    code = cli.main(["generate", "train", "--out", str(tmp_path / "lm2"), "--num-layers", "0"])
    _, err = capsys.readouterr()
    assert code == 2 and "--num-layers" in err


def test_cli_train_passes_dropout_lr_decay_and_records_its_command(capsys, tmp_path, recorded_training):
    """--dropout, --lr-decay and the checkpoint folder reach the recipe, with the command (no machine path);
    out-of-range values are refused with one line; --resume needs an interrupted run."""
    seen = recorded_training
    code = cli.main(["generate", "train", "--out", str(tmp_path / "lm"), "--dropout", "0.25", "--lr-decay", "0.8"])
    capsys.readouterr()
    assert code == 0 and seen["dropout"] == 0.25 and seen["lr_decay"] == 0.8 and seen["resume"] is False
    assert seen["checkpoint_dir"].parent == tmp_path / "lm"
    assert "--dropout 0.25" in seen["command"] and "--lr-decay 0.8" in seen["command"]
    assert str(tmp_path) not in seen["command"] and seen["command"].endswith("--out lm")
    for option, value in (("--dropout", "1"), ("--dropout", "-0.1"), ("--lr-decay", "0"), ("--lr-decay", "1.5")):
        code = cli.main(["generate", "train", "--out", str(tmp_path / "lm3"), option, value])
        _, err = capsys.readouterr()
        assert code == 2 and option in err and err.count("\n") == 1
    code = cli.main(["generate", "train", "--out", str(tmp_path / "lm4"), "--resume"])
    _, err = capsys.readouterr()
    assert code == 2 and "nothing to resume" in err
