"""Tatoeba Chinese→English: loading, normalisation, tokenisation, the split by source, vocabularies,
the retrieval baseline, saving/loading a model, and the shipped model's recorded metrics."""


import json
import os

import numpy as np
import paddle
import pytest

from rnn_course import translation as tr
from rnn_course.errors import CourseError


@pytest.fixture(scope="module")
def pairs():
    return tr.load_pairs(max_len=12)


@pytest.fixture(scope="module")
def splits(pairs):
    return tr.split_by_source(pairs)


def test_shipped_file_is_complete_with_attribution():
    rows = tr.read_raw_pairs()
    assert len(rows) == 29155
    assert all(a.startswith("CC-BY 2.0 (France) Attribution: tatoeba.org #") for _, _, a in rows)


def test_normalisation_and_tokenisers():
    assert tr.tokenize_chinese("你好，世界！ＡＢ１") == list("你好,世界!AB1")
    assert tr.tokenize_chinese("我 昨天。") == ["我", "昨", "天", "。"]
    assert tr.tokenize_english("I don’t know, Tom's 3.5 km.") == ["I", "don't", "know", ",", "Tom's", "3.5", "km", "."]
    for sentence in ["I saw him in Beijing yesterday.", "Don't worry, be happy!", "Is it $5 (or 6)?"]:
        assert tr.detokenize_english(tr.tokenize_english(sentence)) == sentence


def test_length_filter(pairs):
    assert 20000 < len(pairs) < 29155
    assert max(max(len(s), len(t)) for s, t in pairs) == 12


def test_split_by_source_is_disjoint_fixed_and_keeps_all_references(pairs, splits, monkeypatch):
    sources = {name: {"".join(s) for s, _ in items} for name, items in splits.items()}
    assert not (sources["train"] & sources["valid"] or sources["train"] & sources["test"]
                or sources["valid"] & sources["test"])
    groups = tr.group_by_source(pairs)
    assert sum(len(v) for v in sources.values()) == len(groups)
    for src, refs in splits["test"]:
        assert refs == groups["".join(src)]
    assert sum(len(v) for _, v in splits["train"]) == len(tr.training_pairs(splits["train"]))
    monkeypatch.setenv("RNN_COURSE_SEED_OFFSET", "2")  # the split defines the test set: never shifted
    assert tr.split_by_source(pairs) == splits
    assert 0.09 < len(splits["test"]) / len(groups) < 0.11
    with pytest.raises(CourseError):
        tr.split_by_source(pairs, fractions=(0.5, 0.5, 0.5))


def test_vocabularies(splits):
    src_vocab, tgt_vocab = tr.build_vocabs(splits["train"])
    assert src_vocab.itos[:4] == tgt_vocab.itos[:4] == ["<pad>", "<unk>", "<bos>", "<eos>"]
    assert src_vocab.unknown_rate(s for s, _ in splits["test"]) < 0.02
    assert tgt_vocab.unknown_rate(r for _, refs in splits["test"] for r in refs) < 0.06
    with pytest.raises(CourseError):
        tr.vocab_from_list(["<pad>", "<unk>", "x"])


def test_retrieval_returns_the_training_english_for_a_training_source(splits):
    train = splits["train"][:300]
    retrieval = tr.RetrievalTranslator(train)
    picked = retrieval.nearest(["".join(s) for s, _ in train[:50]])
    for i, j in enumerate(picked):  # the same source, or one with identical character n-grams
        assert sorted(train[j][0]) == sorted(train[i][0])
    assert retrieval.translate([train[3][0]])[0] == tr.detokenize_english(train[3][1][0])
    with pytest.raises(CourseError):
        tr.RetrievalTranslator([])


def test_save_load_round_trip_and_errors(tmp_path, splits):
    import rnn_course

    rnn_course.setup(0, font=False)
    src_vocab, tgt_vocab = tr.build_vocabs(splits["train"][:200], min_freq=1)
    config = {**tr.DEFAULT_CONFIG, "embed_size": 8, "hidden_size": 8}
    model = tr.make_model(len(src_vocab), len(tgt_vocab), config)
    model.eval()
    tr.save_model(tmp_path / "m", model, src_vocab, tgt_vocab, config, {"x": 1})
    loaded, sv, tv, cfg, metrics = tr.load_model(tmp_path / "m")
    assert sv.itos == src_vocab.itos and tv.itos == tgt_vocab.itos and cfg == config and metrics == {"x": 1}
    for name, value in model.state_dict().items():  # float16 storage: within half-precision rounding
        np.testing.assert_allclose(loaded.state_dict()[name].numpy(), value.numpy(), rtol=1e-3, atol=1e-4)
    ids = [[5, 6, 7], [8, 9, 0]]
    np.testing.assert_allclose(loaded(paddle.to_tensor(ids), paddle.to_tensor([3, 2]), paddle.to_tensor(ids)).numpy(),
                               model(paddle.to_tensor(ids), paddle.to_tensor([3, 2]), paddle.to_tensor(ids)).numpy(),
                               atol=2e-2)
    with np.load(tmp_path / "m" / "weights.npz", allow_pickle=False) as data:
        assert all(data[k].dtype == np.float16 for k in data.files)
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["kind"] == "translation" and set(manifest["sha256"]) == {
        "weights.npz", "src_vocab.json", "tgt_vocab.json", "config.json"}
    # a swapped vocabulary is refused by its checksum, before any translation is produced
    (tmp_path / "m" / "tgt_vocab.json").write_text(json.dumps(tgt_vocab.itos[::-1]), encoding="utf-8")
    with pytest.raises(CourseError, match="tgt_vocab.json was changed"):
        tr.load_model(tmp_path / "m")
    tr.save_model(tmp_path / "m", model, src_vocab, tgt_vocab, config, {"x": 1})  # replaced atomically
    assert tr.load_model(tmp_path / "m")[1].itos == src_vocab.itos
    (tmp_path / "m" / "weights.npz").write_bytes(b"not a zip file")
    with pytest.raises(CourseError, match="changed after the model was saved"):
        tr.load_model(tmp_path / "m")
    with pytest.raises(CourseError, match="no translation model"):
        tr.load_model(tmp_path / "nothing")
    tr.save_model(tmp_path / "m3", model, src_vocab, tgt_vocab, config, {"x": 3})
    os.replace(tmp_path / "m3", tmp_path / ".m3.previous")  # what a kill right after the first rename leaves
    assert tr.load_model(tmp_path / "m3")[4] == {"x": 3}  # the parked copy is put back, not "no model"
    tr.save_model(tmp_path / "m2", model, src_vocab, tgt_vocab, {**config, "hidden_size": 16})
    with pytest.raises(CourseError, match="do not fit"):
        tr.load_model(tmp_path / "m2")
    # another kind of model directory is named, not misread
    from rnn_course import checkpoints

    checkpoints.save_model_dir(tmp_path / "m3", "language_model", {}, src_vocab, config)
    with pytest.raises(CourseError, match="language_model model, not a translation model"):
        tr.load_model(tmp_path / "m3")


def test_training_reduces_the_loss(splits):
    import rnn_course

    rnn_course.setup(0, font=False)
    small = {name: items[:64] for name, items in splits.items()}
    src_vocab, tgt_vocab = tr.build_vocabs(small["train"], min_freq=1)
    model = tr.make_model(len(src_vocab), len(tgt_vocab), {"embed_size": 16, "hidden_size": 16, "dropout": 0.0})
    history = tr.train_model(model, small, src_vocab, tgt_vocab, epochs=8, batch_size=16, learning_rate=1e-2)
    losses = history.column("train_loss")
    assert losses[-1] < losses[0] - 1.0


# --------------------------------------------------------------------------------------------
# rnn-course translate
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory, splits):
    import rnn_course

    rnn_course.setup(0, font=False)
    src_vocab, tgt_vocab = tr.build_vocabs(splits["train"])
    config = {**tr.DEFAULT_CONFIG, "embed_size": 8, "hidden_size": 8}
    model = tr.make_model(len(src_vocab), len(tgt_vocab), config)
    model.eval()
    return tr.save_model(tmp_path_factory.mktemp("tiny") / "model", model, src_vocab, tgt_vocab, config,
                         {"beam_alpha": 0.5})


def run_cli(capsys, *argv):
    from rnn_course.cli import main

    code = main(["translate", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_translates_arguments_and_stdin(capsys, monkeypatch, tiny_model_dir):
    import io

    code, out, err = run_cli(capsys, "我昨天在北京见了他。", "你好", "--model", str(tiny_model_dir), "--beam", "2")
    assert code == 0 and err == "" and len(out.splitlines()) == 2
    monkeypatch.setattr("sys.stdin", io.StringIO("谢谢。\n\n再见！\n"))
    code, out, err = run_cli(capsys, "--model", str(tiny_model_dir))
    assert code == 0 and out.split("\n")[1] == "" and len(out.splitlines()) == 3


def test_cli_evaluate_writes_a_tsv_that_recomputes_the_bleu(capsys, tmp_path, tiny_model_dir, splits):
    import sacrebleu

    out_file = tmp_path / "test.tsv"
    code, out, err = run_cli(capsys, "evaluate", "--model", str(tiny_model_dir), "--out", str(out_file), "--beam", "1")
    assert code == 0 and err == "" and "greedy" in out
    model_line = next(line for line in out.splitlines() if "model" in line and "BLEU" in line)
    retrieval_line = next(line for line in out.splitlines() if "retrieval" in line and "BLEU" in line)
    rows = [line.split("\t") for line in out_file.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == len(splits["test"]) and all(len(r) >= 3 for r in rows)
    assert [r[0] for r in rows] == ["".join(s) for s, _ in splits["test"]]
    hyps, refs = [r[1] for r in rows], [r[2:] for r in rows]
    most = max(len(r) for r in refs)
    score = sacrebleu.corpus_bleu(hyps, [[r[i] if i < len(r) else None for r in refs] for i in range(most)],
                                  tokenize="13a").score
    assert f"{score:.2f}" in model_line
    assert f"{tr.bleu(tr.RetrievalTranslator(splits['train']).translate([r[0] for r in rows]), refs):.2f}" \
        in retrieval_line


def test_cli_never_overwrites_silently(capsys, tmp_path, tiny_model_dir):
    """train refuses a folder that already holds a model (before any training); evaluate --out refuses an
    existing file unless --force, and with --force replaces it whole."""
    code, out, err = run_cli(capsys, "train", "--out", str(tiny_model_dir), "--epochs", "1")
    assert code == 2 and "already holds a model" in err and err.count("\n") == 1
    mine = tmp_path / "notes"
    mine.mkdir()
    (mine / "essay.txt").write_text("mine", encoding="utf-8")
    code, out, err = run_cli(capsys, "train", "--out", str(mine))
    assert code == 2 and "holds no course model" in err and (mine / "essay.txt").read_text() == "mine"
    target = tmp_path / "kept.tsv"
    target.write_text("my notes\n", encoding="utf-8")
    code, out, err = run_cli(capsys, "evaluate", "--model", str(tiny_model_dir), "--out", str(target))
    assert code == 2 and "already exists" in err and target.read_text(encoding="utf-8") == "my notes\n"


@pytest.mark.parametrize("argv, message", [
    (["--beam", "0", "你好"], "--beam"),
    (["--alpha", "-1", "你好"], "--alpha"),
    (["   "], "empty"),
    (["--model", "/nonexistent/model", "你好"], "no translation model"),
    (["evaluate", "extra"], "takes no sentences"),
    (["evaluate", "--out", "/nonexistent/dir/x.tsv"], "--out"),
    (["train"], "--out"),
    (["train", "--out", "x", "--epochs", "0"], "--epochs"),
    (["--epochs", "3", "你好"], "does not apply"),
])
def test_cli_bad_input_is_one_line_and_exit_2(capsys, argv, message):
    code, out, err = run_cli(capsys, *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("rnn-course: error:") and message in err



# --------------------------------------------------------------------------------------------
# The shipped models: the attention model and its no-attention baseline
# --------------------------------------------------------------------------------------------
def shipped_metrics(folder):
    return json.loads((folder / "metrics.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("folder, attention", [(tr.SHIPPED_MODEL, "additive"), (tr.BASELINE_MODEL, "none")],
                         ids=["attention", "no_attention"])
def test_shipped_model_recomputes_its_recorded_bleu(splits, folder, attention):
    """The recorded greedy test BLEU comes from these weights, on this split, with these vocabularies."""
    import rnn_course

    rnn_course.setup(0, font=False)
    model, src_vocab, tgt_vocab, config, metrics = tr.load_model(folder)
    assert config["attention"] == attention
    assert (src_vocab.itos, tgt_vocab.itos) == tuple(v.itos for v in tr.build_vocabs(splits["train"]))
    assert metrics["test_sentences"] == len(splits["test"])
    score, _ = tr.evaluate_bleu(model, splits["test"], src_vocab, tgt_vocab)
    assert score == pytest.approx(metrics["test_bleu_greedy"], abs=0.006)


def test_shipped_model_beats_both_baselines_at_a_matched_budget():
    attention, plain = shipped_metrics(tr.SHIPPED_MODEL), shipped_metrics(tr.BASELINE_MODEL)
    assert attention["training"] == plain["training"]  # same data, epochs, batch, learning rate, seed
    assert abs(attention["parameters"] / plain["parameters"] - 1) < 0.10
    assert attention["test_bleu_greedy"] > attention["retrieval_test_bleu"]
    assert attention["test_bleu_beam4"] > attention["retrieval_test_bleu"]
    study = attention["seed_study"]
    assert len(study["additive"]["seeds"]) >= 3 and len(study["none"]["seeds"]) >= 3
    # every attention seed beats every no-attention seed, and the shipped runs are the seed-0 entries
    assert min(study["additive"]["test_bleu_greedy"]) > max(study["none"]["test_bleu_greedy"])
    assert study["additive"]["test_bleu_greedy"][0] == attention["test_bleu_greedy"]
    assert study["none"]["test_bleu_greedy"][0] == plain["test_bleu_greedy"]
    by_alpha = {float(a): b for a, b in attention["valid_bleu_beam4_by_alpha"].items()}
    assert by_alpha[attention["beam_alpha"]] == max(by_alpha.values())  # α: the validation optimum, never test


def test_cli_uses_the_shipped_model_by_default(capsys):
    code, out, err = run_cli(capsys, "我昨天在北京见了他。", "谢谢你。")
    lines = out.splitlines()
    assert code == 0 and err == "" and len(lines) == 2
    assert lines[1].lower().startswith("thank")
