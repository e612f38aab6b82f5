"""Character-level language modelling on the review corpus.

A review becomes one token sequence: a start token (``<pos>`` / ``<neg>`` for the label, ``<bos>``
when no label is given), its first ``max_chars`` characters, then ``<eos>``. The model predicts every
token after the start token; padding is masked out of the loss, so perplexity is per character
(``<eos>`` counts as one character).

Also here: count-based n-gram baselines (unigram, interpolated bigram and trigram), perplexity,
a training helper for :class:`rnn_course.models.LanguageModel`, and save/load of a trained model.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from pathlib import Path

import numpy as np
import paddle
import paddle.nn.functional as F

from rnn_course import checkpoints
from rnn_course.cells import check_cell_type
from rnn_course.data import LengthBuckets, Vocab, char_tokenize, load_review_splits
from rnn_course.errors import CourseError
from rnn_course.models import LanguageModel
from rnn_course.train import fit, make_optimizer, masked_cross_entropy

BOS, EOS, POS, NEG = "<bos>", "<eos>", "<pos>", "<neg>"
LM_SPECIALS = (BOS, EOS, POS, NEG)
LABEL_TOKENS = {1: POS, 0: NEG, "pos": POS, "neg": NEG}


# --------------------------------------------------------------------------------------------
# Data: reviews → token sequences → padded (input, target) batches
# --------------------------------------------------------------------------------------------
def build_lm_vocab(texts, max_vocab: int = 2500) -> Vocab:
    """Characters of ``texts`` (most frequent first), capped at ``max_vocab`` characters; the specials
    ``<pad> <unk> <bos> <eos> <pos> <neg>`` come on top of them. Rarer characters become ``<unk>``."""
    specials = len(LM_SPECIALS) + 2
    return Vocab.build((char_tokenize(t) for t in texts), max_vocab=max_vocab + specials,
                       specials=LM_SPECIALS)


def start_token(label) -> str:
    """``<pos>``/``<neg>`` for a label (1/0 or "pos"/"neg"), ``<bos>`` for None."""
    if label is None:
        return BOS
    if label not in LABEL_TOKENS:
        raise CourseError(f"label must be pos, neg, 1 or 0, got {label!r}")
    return LABEL_TOKENS[label]


def encode_review(text: str, vocab: Vocab, label=None, max_chars: int = 120) -> list:
    """``[start] + first max_chars characters + [<eos>]`` as ids."""
    chars = char_tokenize(text)[:max_chars]
    return [vocab.stoi[start_token(label)], *vocab.encode(chars), vocab.stoi[EOS]]


def encode_reviews(reviews, vocab: Vocab, max_chars: int = 120, use_labels: bool = True) -> list:
    labels = reviews.labels if use_labels else [None] * len(reviews)
    return [encode_review(t, vocab, label, max_chars) for t, label in zip(reviews.texts, labels, strict=False)]


def make_lm_batch(sequences):
    """Sequences of ids → (inputs, targets), each (batch, time) int64, right-padded with 0.

    ``inputs[b, t] = seq[t]`` and ``targets[b, t] = seq[t + 1]``; target 0 (``<pad>``) is masked."""
    if not sequences:
        raise CourseError("cannot build an empty batch")
    width = max(len(s) for s in sequences) - 1
    if width < 1:
        raise CourseError("every sequence needs at least two tokens (start and <eos>)")
    inputs = np.zeros((len(sequences), width), dtype=np.int64)
    targets = np.zeros((len(sequences), width), dtype=np.int64)
    for row, seq in enumerate(sequences):
        inputs[row, : len(seq) - 1] = seq[:-1]
        targets[row, : len(seq) - 1] = seq[1:]
    return inputs, targets


class LMBatches:
    """Re-iterable ``(inputs, targets)`` batches of similar-length sequences (less padding, faster on
    CPU), drawn by :class:`rnn_course.data.LengthBuckets` (shuffled from NumPy's global RNG)."""

    def __init__(self, sequences, batch_size: int = 32, shuffle: bool = False, pool: int = 50):
        self.sequences = list(sequences)
        self.sampler = LengthBuckets([len(s) for s in self.sequences], batch_size, shuffle, pool)

    def __len__(self) -> int:
        return len(self.sampler)

    def __iter__(self):
        for rows in self.sampler:
            yield make_lm_batch([self.sequences[i] for i in rows])


def count_targets(sequences) -> int:
    """Number of predicted tokens (every token after the start token)."""
    return sum(len(s) - 1 for s in sequences)


# --------------------------------------------------------------------------------------------
# Perplexity
# --------------------------------------------------------------------------------------------
def perplexity_from_log_probs(log_probs) -> float:
    """exp(−mean log p) over the predicted tokens (natural log)."""
    log_probs = np.asarray(log_probs, dtype=np.float64)
    if log_probs.size == 0:
        raise CourseError("perplexity needs at least one predicted token")
    if not np.all(np.isfinite(log_probs)):
        raise CourseError("a predicted token has probability 0, so the perplexity is infinite")
    return float(np.exp(-log_probs.mean()))


def lm_loss_fn(output, targets):
    """``loss_fn`` for :func:`rnn_course.train.fit`: the model returns (logits, state)."""
    logits = output[0] if isinstance(output, (tuple, list)) else output
    return masked_cross_entropy(logits, targets)


def token_log_probs(model, sequences, batch_size: int = 64) -> np.ndarray:
    """log p (natural) of every predicted token, sequence after sequence in the order given — the
    order of :meth:`NGramLM.log_probs`, so the two models can be compared or mixed token by token."""
    sequences = list(sequences)
    if count_targets(sequences) == 0:
        raise CourseError("no tokens to score")
    was_training = model.training
    model.eval()
    per_sequence = [None] * len(sequences)
    batches = LMBatches(sequences, batch_size)  # groups similar lengths: rows come back out of order
    with paddle.no_grad():
        for rows in batches.sampler:
            inputs, targets = make_lm_batch([sequences[i] for i in rows])  # (B, T), (B, T)
            logits, _ = model(paddle.to_tensor(inputs))  # (B, T, V)
            # cross_entropy, not log_softmax: Paddle 3.3's CPU log_softmax is ~50× slower here
            ce = F.cross_entropy(logits.reshape([-1, logits.shape[-1]]), paddle.to_tensor(targets.reshape(-1, 1)),
                                 reduction="none")  # (B·T, 1)
            log_p = -ce.numpy().reshape(targets.shape).astype(np.float64)  # (B, T)
            for row, i in enumerate(rows):
                per_sequence[i] = log_p[row, : len(sequences[i]) - 1]  # drop the padding
    if was_training:
        model.train()
    return np.concatenate(per_sequence)


def model_nll(model, sequences, batch_size: int = 64) -> tuple:
    """(total negative log-likelihood in nats, number of predicted tokens) of ``sequences``."""
    log_p = token_log_probs(model, sequences, batch_size)
    return float(-log_p.sum()), int(log_p.size)


def model_perplexity(model, sequences, batch_size: int = 64) -> float:
    """Per-character perplexity of a :class:`~rnn_course.models.LanguageModel` on ``sequences``."""
    total, count = model_nll(model, sequences, batch_size)
    return math.exp(total / count)


# --------------------------------------------------------------------------------------------
# Count-based baselines
# --------------------------------------------------------------------------------------------
class NGramLM:
    """Interpolated n-gram model (Jelinek–Mercer) over token ids.

    P(w | u, v) = λ₃ P̂(w | u, v) + λ₂ P̂(w | v) + λ₁ P̂(w) + λ₀ / V, with maximum-likelihood
    estimates P̂ from training counts; an estimate whose context was never seen contributes 0 and its
    weight is moved to the lower orders, so every conditional distribution sums to 1 over the
    vocabulary. ``lambdas`` = (λ₀, λ₁, …, λ_order), summing to 1. The start token is context only.
    """

    def __init__(self, order: int, vocab_size: int, lambdas=None):
        if order not in (1, 2, 3):
            raise CourseError(f"order must be 1, 2 or 3, got {order}")
        default = {1: (0.01, 0.99), 2: (0.01, 0.29, 0.7), 3: (0.01, 0.19, 0.4, 0.4)}[order]
        lambdas = tuple(default if lambdas is None else lambdas)
        if len(lambdas) != order + 1 or min(lambdas) < 0 or abs(sum(lambdas) - 1) > 1e-9:
            raise CourseError(f"an order-{order} model needs {order + 1} non-negative weights summing to 1")
        self.order, self.vocab_size, self.lambdas = order, vocab_size, lambdas
        self.counts = [Counter() for _ in range(order)]  # counts[k][(context…, w)], context length k
        self.context_counts = [Counter() for _ in range(order)]
        self._tables = {}  # successor tables for distribution(), built on first use

    def fit(self, sequences) -> NGramLM:
        self._tables = {}
        for seq in sequences:
            for t in range(1, len(seq)):
                for k in range(self.order):
                    if t - k < 0:
                        break
                    gram = tuple(seq[t - k : t + 1])
                    self.counts[k][gram] += 1
                    self.context_counts[k][gram[:-1]] += 1
        return self

    def mix(self, components, lambdas=None) -> np.ndarray:
        """Interpolate per-order estimates ``components`` (n, order), NaN where the context was
        never seen (that weight moves to the next lower order, finally to the uniform term)."""
        components = np.atleast_2d(np.asarray(components, dtype=np.float64))
        weights = self._order_weights(np.isnan(components), lambdas)  # (n, order + 1)
        return weights[:, 0] / self.vocab_size + (weights[:, 1:] * np.nan_to_num(components, nan=0.0)).sum(axis=1)

    def _order_weights(self, unseen, lambdas=None) -> np.ndarray:
        """λ per row (n, order + 1) given which orders' contexts were never seen (n, order): an unseen
        order's weight moves to the next lower order, finally to the uniform term."""
        unseen = np.atleast_2d(unseen)
        weights = np.tile(np.asarray(self.lambdas if lambdas is None else lambdas, dtype=np.float64),
                          (len(unseen), 1))  # (n, order + 1)
        spare = np.zeros(len(unseen))
        for k in range(self.order - 1, -1, -1):
            weights[:, k + 1] += spare
            spare = np.where(unseen[:, k], weights[:, k + 1], 0.0)
            weights[unseen[:, k], k + 1] = 0.0
        weights[:, 0] += spare
        return weights

    def _estimate(self, context, w, k) -> float:
        ctx = tuple(context[len(context) - k :]) if k else ()
        n = self.context_counts[k][ctx] if len(ctx) == k else 0
        return self.counts[k][(*ctx, w)] / n if n else math.nan

    def components(self, sequences) -> np.ndarray:
        """Per-order estimates P̂ for every predicted token of ``sequences``: (tokens, order)."""
        rows = []
        for seq in sequences:
            for t in range(1, len(seq)):
                context = seq[max(0, t - self.order + 1) : t]
                rows.append([self._estimate(context, seq[t], k) for k in range(self.order)])
        return np.array(rows, dtype=np.float64).reshape(-1, self.order)

    def prob(self, context, w) -> float:
        """P(w | the last order−1 tokens of ``context``)."""
        return float(self.mix([[self._estimate(context, w, k) for k in range(self.order)]])[0])

    def _successors(self, k: int) -> dict:
        """{context of length k: (next ids, their counts)}, built once: what :meth:`distribution` reads."""
        if k not in self._tables:
            grouped = {}
            for gram, count in self.counts[k].items():
                grouped.setdefault(gram[:-1], ([], []))
                grouped[gram[:-1]][0].append(gram[-1])
                grouped[gram[:-1]][1].append(count)
            self._tables[k] = {ctx: (np.array(ids), np.array(c, dtype=np.float64)) for ctx, (ids, c) in grouped.items()}
        return self._tables[k]

    def distribution(self, context) -> np.ndarray:
        """P(· | context) over the whole vocabulary, shape (V,): :meth:`prob` for every id at once."""
        seen = []
        for k in range(self.order):
            ctx = tuple(context[len(context) - k :]) if k else ()
            seen.append(ctx if len(ctx) == k and self.context_counts[k][ctx] else None)
        weights = self._order_weights([[ctx is None for ctx in seen]])[0]  # (order + 1,)
        dist = np.full(self.vocab_size, weights[0] / self.vocab_size)  # (V,)
        for k, ctx in enumerate(seen):
            if ctx is not None:
                ids, counts = self._successors(k)[ctx]
                dist[ids] += weights[k + 1] * counts / self.context_counts[k][ctx]
        return dist

    def log_probs(self, sequences, lambdas=None) -> np.ndarray:
        """log P of every predicted token (all tokens after the first) of every sequence."""
        with np.errstate(divide="ignore"):
            return np.log(self.mix(self.components(sequences), lambdas))

    def perplexity(self, sequences) -> float:
        return perplexity_from_log_probs(self.log_probs(sequences))


def tune_ngram(order, vocab_size, train_sequences, valid_sequences, grid=None):
    """Fit an order-n model and choose its interpolation weights on ``valid_sequences`` from a
    small grid. Returns (model, validation perplexity)."""
    model = NGramLM(order, vocab_size).fit(train_sequences)
    if grid is None:
        grid = {1: [(0.01, 0.99)],
                2: [(0.01, 0.99 - b, b) for b in (0.5, 0.6, 0.7, 0.8, 0.9)],
                3: [(0.01, 0.99 - b - c, b, c) for b in (0.2, 0.3, 0.4) for c in (0.3, 0.4, 0.5, 0.6)
                    if b + c <= 0.9]}[order]
    components = model.components(valid_sequences)
    scores = [perplexity_from_log_probs(np.log(model.mix(components, lambdas))) for lambdas in grid]
    best = int(np.argmin(scores))
    model.lambdas = tuple(grid[best])
    return model, scores[best]


# --------------------------------------------------------------------------------------------
# Mixing a neural model with a count model (chapter 07, "RNN + trigram")
# --------------------------------------------------------------------------------------------
MIX_WEIGHTS = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)


def mix_log_probs(log_p, log_q, weight: float) -> np.ndarray:
    """log(w·p + (1 − w)·q), token by token: linear interpolation of two language models' probabilities
    (the same kind of mixture as inside an interpolated n-gram model)."""
    if not 0.0 < weight < 1.0:
        raise CourseError(f"the mixture weight must be in (0, 1), got {weight}")
    log_p, log_q = np.asarray(log_p, dtype=np.float64), np.asarray(log_q, dtype=np.float64)
    if log_p.shape != log_q.shape:
        raise CourseError(f"the two models scored different numbers of tokens ({log_p.size} vs {log_q.size})")
    return np.logaddexp(math.log(weight) + log_p, math.log1p(-weight) + log_q)  # no underflow for tiny p, q


def tune_mixture(log_p_valid, log_q_valid, weights=MIX_WEIGHTS) -> tuple:
    """(weight of the first model, validation perplexity of the mixture), the weight chosen from
    ``weights`` on the validation tokens."""
    scores = [perplexity_from_log_probs(mix_log_probs(log_p_valid, log_q_valid, w)) for w in weights]
    best = int(np.argmin(scores))
    return float(weights[best]), scores[best]


# --------------------------------------------------------------------------------------------
# Training, saving, loading
# --------------------------------------------------------------------------------------------
DEFAULT_CONFIG = {"cell_type": "gru", "embed_size": 64, "hidden_size": 256, "num_layers": 1,
                  "max_chars": 120, "max_vocab": 2500, "dropout": 0.0}


def prepare_lm_data(max_chars: int = 120, max_vocab: int = 2500, seed: int = 0):
    """(vocab, {"train", "valid", "test"} → encoded labelled sequences) from the standard split."""
    splits = load_review_splits(seed)
    vocab = build_lm_vocab(splits["train"].texts, max_vocab)
    return vocab, {name: encode_reviews(part, vocab, max_chars) for name, part in splits.items()}


def make_language_model(vocab_size, config=None):
    cfg = check_config(config or {})
    return LanguageModel(vocab_size, cfg["cell_type"], cfg["embed_size"], cfg["hidden_size"],
                         cfg["num_layers"], dropout=cfg["dropout"])


def train_language_model(model, train_sequences, valid_sequences=None, *, epochs=1, batch_size=32,
                         learning_rate=5e-3, clip_norm=1.0, lr_decay=1.0, max_seconds=None, max_steps=None,
                         checkpoint_dir=None, resume=False, run_config=None, verbose=False):
    """Adam + global-norm clipping + masked loss via :func:`rnn_course.train.fit`; keeps the epoch
    with the best validation perplexity (``valid_ppl``). Returns the :class:`~rnn_course.train.History`.

    ``lr_decay``: the learning rate of epoch e (from 0) is ``learning_rate · lr_decay**e`` — large steps
    while the model is far off, small ones once validation perplexity flattens.
    ``checkpoint_dir``/``resume``/``run_config``: an interrupted run continues exactly (see ``fit``)."""
    def evaluate(m, sequences):
        total, count = model_nll(m, sequences)
        return {"valid_loss": total / count, "valid_ppl": math.exp(total / count)}

    return fit(model, LMBatches(train_sequences, batch_size, shuffle=True),
               optimizer=make_optimizer(model, learning_rate=learning_rate, clip_norm=clip_norm),
               loss_fn=lm_loss_fn, epochs=epochs, valid_data=valid_sequences,
               evaluate_fn=evaluate if valid_sequences is not None else None, monitor="valid_ppl",
               max_seconds=max_seconds, max_steps=max_steps, verbose=verbose,
               log_every=100 if verbose else None, checkpoint_dir=checkpoint_dir, resume=resume,
               run_config=run_config,
               lr_schedule=None if lr_decay == 1.0 else (lambda epoch: learning_rate * lr_decay ** epoch))


MODEL_KIND = "language_model"
SHIPPED_MODEL = Path(__file__).resolve().parent / "assets" / "lm"


def check_config(config, where="the configuration") -> dict:
    """The full configuration (defaults filled in), every value of the right type."""
    if not isinstance(config, dict):
        raise CourseError(f"{where} must be a JSON object")
    unknown = sorted(set(config) - set(DEFAULT_CONFIG))
    if unknown:
        raise CourseError(f"unknown language-model setting {unknown[0]!r} in {where}")
    cfg = {**DEFAULT_CONFIG, **config}
    for name, value in cfg.items():
        if name == "cell_type":
            cfg[name] = check_cell_type(value) if isinstance(value, str) else check_cell_type(repr(value))
        elif name == "dropout":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
                raise CourseError(f"dropout in {where} must be a number in [0, 1), got {value!r}")
            cfg[name] = float(value)
        elif isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise CourseError(f"{name} in {where} must be a whole number ≥ 1, got {value!r}")
    return cfg


def save_language_model(directory, model, vocab: Vocab, config: dict, metrics: dict | None = None) -> Path:
    """Write a model directory (:mod:`rnn_course.checkpoints` format; weights as float16 to halve the
    size) in one atomic swap."""
    return checkpoints.save_model_dir(directory, MODEL_KIND, checkpoints.model_arrays(model, np.float16), vocab,
                                      check_config(config), metrics)


def default_model_dir() -> Path:
    """The pretrained model shipped with the package (``rnn_course/assets/lm``)."""
    return SHIPPED_MODEL


def load_language_model(directory=None):
    """(model in eval mode, vocab, config, metrics or {}) from a directory written by
    :func:`save_language_model` (default: the shipped model). Errors name the problem."""
    directory = checkpoints.recover(directory if directory is not None else SHIPPED_MODEL)
    if not directory.is_dir():
        raise CourseError(f"no language model at {directory}; train one with `rnn-course generate train --out DIR`")
    arrays, vocab_path, config, metrics = checkpoints.read_model_dir(directory, MODEL_KIND)
    config = check_config(config, f"{directory}/config.json")
    vocab = Vocab.load(vocab_path)
    missing = [t for t in (BOS, EOS, POS, NEG) if t not in vocab]
    if missing:
        raise CourseError(f"the vocabulary in {directory} lacks the special token {missing[0]}")
    model = make_language_model(len(vocab), config)
    checkpoints.set_model_arrays(model, arrays, directory)
    model.eval()
    return model, vocab, config, metrics


def trigram_mixture(log_p: dict, vocab: Vocab, data: dict) -> dict:
    """The model mixed with the interpolated trigram (:func:`mix_log_probs`), the weight chosen on
    validation; ``log_p``: the model's :func:`token_log_probs` on "valid" and "test"."""
    trigram, _ = tune_ngram(3, len(vocab), data["train"], data["valid"])
    log_q = {name: trigram.log_probs(data[name]) for name in ("valid", "test")}
    weight, valid_ppl = tune_mixture(log_p["valid"], log_q["valid"])
    return {"weight": weight, "trigram_lambdas": [round(float(x), 3) for x in trigram.lambdas],
            "valid_perplexity": round(valid_ppl, 4),
            "test_perplexity": round(perplexity_from_log_probs(mix_log_probs(log_p["test"], log_q["test"], weight)), 4)}


def load_interpolated_trigram(vocab: Vocab, config: dict, metrics: dict) -> tuple:
    """(trigram, weight w of the RNN) of the interpolation a model folder records (``metrics.json`` →
    ``trigram_mixture``); the trigram is refitted on the training split (seconds: the corpus ships with the
    course), so sampling can use the same model whose perplexity the folder reports."""
    mix = metrics.get("trigram_mixture")
    if not mix:
        raise CourseError("this language model records no trigram interpolation (models trained by "
                          "`rnn-course generate train` record one)")
    train_vocab, data = prepare_lm_data(config["max_chars"], config["max_vocab"])
    if train_vocab.itos != vocab.itos:
        raise CourseError("the model's vocabulary differs from the one rebuilt from the corpus: cannot rebuild its trigram")
    return NGramLM(3, len(vocab), mix["trigram_lambdas"]).fit(data["train"]), float(mix["weight"])


def train_and_save(out_dir, *, cell_type="gru", hidden_size=256, embed_size=64, num_layers=1, dropout=0.0,
                   epochs=3, batch_size=32, learning_rate=5e-3, lr_decay=1.0, clip_norm=1.0, max_chars=120,
                   max_vocab=2500, seed=0, init_dir=None, checkpoint_dir=None, resume=False, command=None,
                   verbose=True) -> dict:
    """The recipe behind the shipped model: train on the train split, keep the best validation
    epoch, round the weights to float16 (as saved), record their validation and test perplexity, save.
    ``init_dir``: continue from a model saved earlier (same vocabulary and architecture).
    ``checkpoint_dir``: a training checkpoint after every epoch; ``resume=True`` continues an interrupted
    run from it (same settings required). ``command``: the command line, recorded in ``metrics.json``.
    Seed the run first (``rnn_course.setup(seed)``, as the command does): a library call never reseeds."""
    vocab, data = prepare_lm_data(max_chars, max_vocab, seed=0)
    positive_share = float(np.mean([seq[0] == vocab.stoi[POS] for seq in data["train"]]))
    config = check_config({"cell_type": cell_type, "embed_size": embed_size, "hidden_size": hidden_size,
                           "num_layers": num_layers, "max_chars": max_chars, "max_vocab": max_vocab,
                           "dropout": dropout})
    model = make_language_model(len(vocab), config)
    previous = None
    if init_dir is not None:
        start, start_vocab, start_config, previous = load_language_model(init_dir)
        if start_vocab.itos != vocab.itos or {**start_config, "dropout": 0.0} != {**config, "dropout": 0.0}:
            raise CourseError(f"the model in {init_dir} has a different vocabulary or architecture")
        model.set_state_dict(start.state_dict())
    training = {"epochs": epochs, "batch_size": batch_size, "learning_rate": learning_rate, "lr_decay": lr_decay,
                "clip_norm": clip_norm, "seed": seed}
    wall, cpu = time.perf_counter(), time.process_time()
    history = train_language_model(model, data["train"], data["valid"], epochs=epochs, batch_size=batch_size,
                                   learning_rate=learning_rate, lr_decay=lr_decay, clip_norm=clip_norm,
                                   checkpoint_dir=checkpoint_dir, resume=resume,
                                   run_config={**config, **training, "init": init_dir is not None},
                                   verbose=verbose)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    # The folder stores float16 weights: measure exactly what will be saved, then save once (atomically).
    checkpoints.set_model_arrays(model, checkpoints.model_arrays(model, np.float16), "the trained model")
    log_p = {name: token_log_probs(model, data[name]) for name in ("valid", "test")}
    metrics = {
        "valid_perplexity": round(perplexity_from_log_probs(log_p["valid"]), 4),
        "valid_tokens": count_targets(data["valid"]),
        "test_perplexity": round(perplexity_from_log_probs(log_p["test"]), 4),
        "test_tokens": count_targets(data["test"]),
        "trigram_mixture": trigram_mixture(log_p, vocab, data),
        "train_positive_share": round(positive_share, 4),
        "best_epoch": history.best_epoch,
        "epochs": [{k: round(v, 4) if isinstance(v, float) else v for k, v in r.items()} for r in history.epochs],
        # a resumed run counts only this process' time: the epochs' own "seconds" cover the whole run
        "train_wall_seconds": round(wall, 1),
        "train_cpu_seconds": round(cpu, 1),
        "training": training,
    }
    if resume:
        metrics["resumed"] = True
    if command:
        metrics["command"] = command
    if previous is not None:
        metrics["initialised_from"] = {k: previous.get(k) for k in ("valid_perplexity", "train_cpu_seconds",
                                                                    "training", "initialised_from")}
    save_language_model(out_dir, model, vocab, config, metrics)
    return metrics
