"""Sentiment analysis end to end: tokens → vocabulary → length-bucketed batches → (Bi)LSTM/GRU
classifier → training, evaluation, prediction and a saved model directory; plus the TF-IDF
character 1–3-gram + logistic-regression baseline the neural models must beat.

A *model directory* holds ``config.json`` (architecture + tokenizer), ``vocab.json``,
``model.pdparams`` and, after training, ``metrics.json``. :class:`SentimentPredictor` loads one
and checks every file, so a missing or damaged directory gives one clear :class:`CourseError`.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

from rnn_course.cells import check_cell_type
from rnn_course.data import (
    Reviews,
    Vocab,
    clean_reviews,
    encode_texts,
    get_tokenizer,
    load_review_splits,
    pad_batch,
    read_labelled_tsv,
    split_reviews,
)
from rnn_course.errors import CourseError
from rnn_course.metrics import classification_report

LABEL_NAMES = {0: "负面 (negative)", 1: "正面 (positive)"}
SHIPPED_MODEL = Path(__file__).resolve().parent / "assets" / "sentiment"


# --------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------
@dataclass
class SentimentConfig:
    """Everything needed to rebuild a model and its input pipeline."""

    tokenizer: str = "char"  # "char" or "word" (jieba)
    rnn_type: str = "lstm"  # "rnn", "lstm" or "gru"
    bidirectional: bool = False
    embed_size: int = 64
    hidden_size: int = 64
    num_layers: int = 1
    dropout: float = 0.3
    pooling: str = "last"  # "last", "mean" or "max"
    max_len: int = 128  # tokens kept from the start of each text
    max_vocab: int = 5000  # including <pad> and <unk>
    min_freq: int = 2

    def __post_init__(self):
        self.rnn_type = check_cell_type(self.rnn_type)
        get_tokenizer(self.tokenizer)  # raises a CourseError for an unknown name
        if self.pooling not in ("last", "mean", "max"):
            raise CourseError(f"unknown pooling {self.pooling!r}: choose one of last, mean, max")
        for name in ("embed_size", "hidden_size", "num_layers", "max_len", "max_vocab"):
            if int(getattr(self, name)) < 1:
                raise CourseError(f"{name} must be a positive integer, got {getattr(self, name)}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> SentimentConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise CourseError(f"unknown model setting {unknown[0]!r} in config.json")
        return cls(**data)


# --------------------------------------------------------------------------------------------
# Tokens, vocabulary and batches
# --------------------------------------------------------------------------------------------
def load_data(data_file=None, seed=0) -> dict:
    """The bundled 80/10/10 split, or the user's file cleaned (dedup) and split the same way."""
    if data_file is None:
        return load_review_splits(seed)
    reviews = clean_reviews(read_labelled_tsv(data_file), min_chars=1)
    splits = split_reviews(reviews, seed=seed)
    for name, part in splits.items():
        if len(part) == 0:
            raise CourseError(f"{data_file} has too few distinct texts for a train/valid/test split "
                              f"(the {name} split is empty)")
    if len(set(splits["train"].labels)) < 2:
        raise CourseError(f"{data_file} needs texts of both labels (0 and 1) to train a classifier")
    return splits


def build_vocab(texts, config: SentimentConfig) -> Vocab:
    """Vocabulary of the training texts: most frequent tokens, at most ``config.max_vocab``."""
    tokenize = get_tokenizer(config.tokenizer)
    return Vocab.build((tokenize(t) for t in texts), max_size=config.max_vocab, min_freq=config.min_freq)


def encode(texts, vocab: Vocab, config: SentimentConfig) -> list:
    """Texts → id lists truncated to ``config.max_len`` (an empty text becomes one ``<unk>``)."""
    return encode_texts(texts, vocab, tokenizer=config.tokenizer, max_len=config.max_len)


class BucketedBatches:
    """Re-iterable padded batches ``(ids (batch, time) int64, lengths (batch,) int64, labels)``.

    Texts of similar length share a batch, so little compute is spent on ``<pad>``. With
    ``shuffle=True`` every pass draws a new order from NumPy's global RNG (seeded by
    :func:`rnn_course.setup`, saved in checkpoints): the texts are permuted, sorted by length inside
    pools of ``pool`` batches, cut into batches, and the batch order is permuted. Without shuffle,
    batches follow the sorted lengths; :meth:`order` maps them back to the input order.
    """

    def __init__(self, sequences, labels, batch_size=64, shuffle=False, pool=50):
        if len(sequences) != len(labels):
            raise CourseError(f"{len(sequences)} texts but {len(labels)} labels")
        if len(sequences) == 0:
            raise CourseError("no texts to batch")
        self.sequences = [list(s) for s in sequences]
        self.labels = np.asarray(labels, dtype=np.int64)
        self.lengths = np.array([len(s) for s in self.sequences])
        self.batch_size, self.shuffle, self.pool = int(batch_size), shuffle, int(pool)

    def __len__(self) -> int:
        return math.ceil(len(self.sequences) / self.batch_size)

    def _index_batches(self) -> list:
        n, size = len(self.sequences), self.batch_size
        if not self.shuffle:
            order = np.argsort(self.lengths, kind="stable")
            return [order[i : i + size] for i in range(0, n, size)]
        perm = np.random.permutation(n)
        batches = []
        for start in range(0, n, size * self.pool):
            chunk = perm[start : start + size * self.pool]
            chunk = chunk[np.argsort(self.lengths[chunk], kind="stable")]
            batches += [chunk[i : i + size] for i in range(0, len(chunk), size)]
        return [batches[i] for i in np.random.permutation(len(batches))]

    def order(self) -> np.ndarray:
        """Input positions in the order the unshuffled batches visit them."""
        return np.concatenate(self._index_batches())

    def __iter__(self):
        for index in self._index_batches():
            ids, lengths = pad_batch([self.sequences[i] for i in index])
            yield ids, lengths, self.labels[index]


def make_batches(reviews: Reviews, vocab: Vocab, config: SentimentConfig, batch_size=64, shuffle=False):
    return BucketedBatches(encode(reviews.texts, vocab, config), reviews.labels, batch_size, shuffle)


# --------------------------------------------------------------------------------------------
# Model, training, evaluation
# --------------------------------------------------------------------------------------------
def build_model(vocab_size: int, config: SentimentConfig):
    """``rnn_course.models.SequenceClassifier`` with the configuration's architecture."""
    from rnn_course.models import SequenceClassifier

    return SequenceClassifier(vocab_size, num_classes=2, rnn_type=config.rnn_type, embed_size=config.embed_size,
                              hidden_size=config.hidden_size, num_layers=config.num_layers,
                              bidirectional=config.bidirectional, dropout=config.dropout, pooling=config.pooling)


def predict_proba(model, batches: BucketedBatches) -> np.ndarray:
    """P(positive) for every text, in the input order (batches may be length-sorted)."""
    import paddle

    from rnn_course.train import predict

    logits = predict(model, batches)  # (n, 2), in batch order
    probs = paddle.nn.functional.softmax(paddle.to_tensor(logits), axis=-1).numpy()[:, 1]
    out = np.empty(len(probs), dtype=np.float32)
    out[batches.order()] = probs
    return out


def evaluate_model(model, batches: BucketedBatches) -> dict:
    """Accuracy, precision, recall and F1 (positive class) of ``model`` on labelled batches."""
    y_pred = (predict_proba(model, batches) >= 0.5).astype(np.int64)
    return classification_report(batches.labels, y_pred)


def train_model(splits: dict, config: SentimentConfig, *, epochs=3, batch_size=64, learning_rate=2e-3,
                clip_norm=1.0, patience=2, checkpoint_dir=None, resume=False, max_seconds=None,
                verbose=False, progress=False, vocab: Vocab | None = None):
    """Build the vocabulary on ``splits["train"]``, train with :func:`rnn_course.train.fit`, keep the
    epoch with the best validation accuracy. Returns ``(model, vocab, history)``."""
    import paddle

    from rnn_course.train import fit, make_optimizer

    vocab = vocab or build_vocab(splits["train"].texts, config)
    train = make_batches(splits["train"], vocab, config, batch_size, shuffle=True)
    valid = make_batches(splits["valid"], vocab, config, 256)
    model = build_model(len(vocab), config)
    optimizer = make_optimizer(model, "adam", learning_rate, clip_norm=clip_norm)
    history = fit(model, train, optimizer=optimizer, loss_fn=paddle.nn.functional.cross_entropy, epochs=epochs,
                  valid_data=valid, evaluate_fn=lambda m, v: {f"valid_{k}": x for k, x in evaluate_model(m, v).items()},
                  monitor="valid_accuracy", mode="max", patience=patience, checkpoint_dir=checkpoint_dir,
                  resume=resume, max_seconds=max_seconds, verbose=verbose, progress=progress)
    return model, vocab, history


# --------------------------------------------------------------------------------------------
# Model directories and prediction
# --------------------------------------------------------------------------------------------
def save_model_dir(directory, model, vocab: Vocab, config: SentimentConfig, metrics: dict | None = None) -> Path:
    """Write ``config.json``, ``vocab.json``, ``model.pdparams`` (and ``metrics.json``) atomically."""
    from rnn_course.train import _atomic_write, save_checkpoint

    directory = ensure_writable_dir(directory)
    save_checkpoint(directory, model)
    _atomic_write(directory / "vocab.json", lambda p: vocab.save(p))
    _write_json(directory / "config.json", config.to_dict())
    if metrics is not None:
        _write_json(directory / "metrics.json", metrics)
    return directory


def _write_json(path: Path, data) -> None:
    from rnn_course.train import _atomic_write

    text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    _atomic_write(path, lambda p: Path(p).write_text(text, encoding="utf-8"))


def ensure_writable_dir(directory) -> Path:
    """Create ``directory`` if needed and prove a file can be written there (before any training)."""
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        probe = directory / ".write_test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise CourseError(f"cannot write to output directory {directory}: {err.strerror or err}") from err
    return directory


def read_config(directory) -> SentimentConfig:
    path = Path(directory) / "config.json"
    if not Path(directory).is_dir():
        raise CourseError(f"model directory not found: {directory}")
    if not path.is_file():
        raise CourseError(f"{directory} is not a sentiment model directory (no config.json)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CourseError(f"config file is corrupt: {path}") from err
    if not isinstance(data, dict):
        raise CourseError(f"config file is corrupt: {path}")
    return SentimentConfig.from_dict(data)


class SentimentPredictor:
    """A trained model directory ready to classify raw texts.

    >>> predictor = SentimentPredictor.load()            # the shipped checkpoint
    >>> predictor.predict(["房间很干净，服务也好"])          # [(1, 0.97...)]
    """

    def __init__(self, model, vocab: Vocab, config: SentimentConfig, metrics: dict | None = None):
        self.model, self.vocab, self.config, self.metrics = model, vocab, config, metrics or {}
        self.model.eval()

    @classmethod
    def load(cls, directory=None) -> SentimentPredictor:
        from rnn_course.train import load_weights

        directory = Path(directory) if directory else SHIPPED_MODEL
        config = read_config(directory)
        vocab = Vocab.load(directory / "vocab.json")
        model = build_model(len(vocab), config)
        load_weights(model, directory)
        metrics_path = directory / "metrics.json"
        metrics = json.loads(metrics_path.read_text(encoding="utf-8")) if metrics_path.is_file() else {}
        return cls(model, vocab, config, metrics)

    def batches(self, texts, labels=None, batch_size=256) -> BucketedBatches:
        texts = list(texts)
        for i, text in enumerate(texts):
            if not isinstance(text, str) or not text.strip():
                raise CourseError(f"text {i + 1} is empty: give at least one character to classify")
        labels = [0] * len(texts) if labels is None else labels
        return BucketedBatches(encode(texts, self.vocab, self.config), labels, batch_size)

    def proba(self, texts) -> np.ndarray:
        """P(positive) for each text."""
        return predict_proba(self.model, self.batches(texts))

    def predict(self, texts) -> list:
        """[(label, P(positive)), ...] with label 1 = positive, 0 = negative."""
        return [(int(p >= 0.5), float(p)) for p in self.proba(texts)]

    def evaluate(self, reviews: Reviews) -> dict:
        return evaluate_model(self.model, self.batches(reviews.texts, reviews.labels))


# --------------------------------------------------------------------------------------------
# Export: paddle.jit.save / jit.load / paddle.inference
# --------------------------------------------------------------------------------------------
def export_model(model, path_prefix) -> list:
    """``paddle.jit.save`` with inputs ``ids`` (batch, time) int64 and ``lengths`` (batch,) int64.

    Paddle 3 (PIR) writes ``<prefix>.json`` (the program) and ``<prefix>.pdiparams`` (the weights).
    Returns the written files.
    """
    import paddle
    from paddle.static import InputSpec

    prefix = Path(path_prefix)
    ensure_writable_dir(prefix.parent)
    model.eval()
    spec = [InputSpec([None, None], "int64", name="ids"), InputSpec([None], "int64", name="lengths")]
    paddle.jit.save(model, str(prefix), input_spec=spec)
    return sorted(p for p in prefix.parent.glob(prefix.name + ".*"))


def load_exported(path_prefix):
    """``paddle.jit.load`` of an exported model (a callable layer: ``layer(ids, lengths)``)."""
    import paddle

    prefix = Path(path_prefix)
    if not Path(str(prefix) + ".pdiparams").is_file():
        raise CourseError(f"no exported model at {prefix} (expected {prefix.name}.json + .pdiparams)")
    return paddle.jit.load(str(prefix))


def inference_predictor(path_prefix):
    """A ``paddle.inference`` predictor (the deployment engine) for an exported model."""
    from paddle import inference

    prefix = str(path_prefix)
    config = inference.Config(prefix + ".json", prefix + ".pdiparams")
    config.disable_gpu()
    config.disable_glog_info()
    return inference.create_predictor(config)


def run_inference(predictor, ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Feed (ids, lengths) to a ``paddle.inference`` predictor; returns the logits."""
    for name, value in zip(predictor.get_input_names(), (ids, lengths), strict=False):
        handle = predictor.get_input_handle(name)
        handle.reshape(list(value.shape))
        handle.copy_from_cpu(np.ascontiguousarray(value, dtype=np.int64))
    predictor.run()
    return predictor.get_output_handle(predictor.get_output_names()[0]).copy_to_cpu()


# --------------------------------------------------------------------------------------------
# The baseline: TF-IDF over character 1–3-grams + logistic regression
# --------------------------------------------------------------------------------------------
def tfidf_baseline(splits: dict, C_grid=(1.0, 3.0, 10.0, 30.0), ngram_range=(1, 3), analyzer="char"):
    """Fit TF-IDF + ``LogisticRegression`` on train, choose ``C`` on valid, score test.

    Returns ``(pipeline, metrics)`` with test accuracy/precision/recall/F1 plus ``C`` and
    ``valid_accuracy``. Whitespace is ignored, as in the char tokenizer.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    def strip(text):
        return "".join(text.split())

    vectorizer = TfidfVectorizer(analyzer=analyzer, ngram_range=ngram_range, preprocessor=strip, sublinear_tf=True,
                                 min_df=2)
    X_train = vectorizer.fit_transform(splits["train"].texts)
    X_valid = vectorizer.transform(splits["valid"].texts)
    best = None
    for C in C_grid:
        clf = LogisticRegression(C=C, max_iter=2000).fit(X_train, splits["train"].labels)
        acc = float(np.mean(clf.predict(X_valid) == np.asarray(splits["valid"].labels)))
        if best is None or acc > best[0]:
            best = (acc, C, clf)
    valid_acc, C, clf = best
    pipeline = make_pipeline(vectorizer, clf)
    metrics = classification_report(splits["test"].labels, pipeline.predict(splits["test"].texts))
    return pipeline, {**metrics, "C": C, "valid_accuracy": valid_acc}
