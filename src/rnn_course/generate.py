"""Sampling text from a character language model: greedy, temperature and top-k decoding.

Decoding rules: greedy (temperature 0) takes the most likely character; otherwise logits are divided
by the temperature, optionally cut to the ``top_k`` most likely characters, and sampled. Special
tokens other than ``<eos>`` (``<pad> <unk> <bos> <pos> <neg>``) are never generated.
"""

from __future__ import annotations

import math

import numpy as np
import paddle

from rnn_course.data import char_tokenize
from rnn_course.errors import CourseError
from rnn_course.language_model import BOS, EOS, NEG, POS, start_token
from rnn_course.runtime import shift_seed

# --------------------------------------------------------------------------------------------
# Sampling one step
# --------------------------------------------------------------------------------------------


def check_temperature(temperature) -> float:
    try:
        value = float(temperature)
    except (TypeError, ValueError) as err:
        raise CourseError(f"temperature must be a number ≥ 0, got {temperature!r}") from err
    if not math.isfinite(value) or value < 0:
        raise CourseError(f"temperature must be a finite number ≥ 0 (0 = greedy), got {temperature}")
    return value


def check_top_k(top_k):
    if top_k is None:
        return None
    if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 1:
        raise CourseError(f"top-k must be a whole number ≥ 1, got {top_k!r}")
    return int(top_k)


def next_token_probs(logits, temperature=1.0, top_k=None, banned=()) -> np.ndarray:
    """Sampling distribution over the vocabulary for each row of ``logits`` (batch, vocab).

    Temperature 0 puts all mass on the argmax (greedy). ``top_k`` keeps the k largest logits
    (ties at the k-th value broken towards lower ids). ``banned`` ids get probability 0.
    """
    temperature, top_k = check_temperature(temperature), check_top_k(top_k)
    logits = np.array(logits, dtype=np.float64, copy=True)
    squeeze = logits.ndim == 1
    logits = np.atleast_2d(logits)  # (batch, vocab)
    if banned:
        logits[:, list(banned)] = -np.inf
    if top_k is not None and top_k < logits.shape[1]:
        keep = np.argsort(-logits, axis=1, kind="stable")[:, :top_k]  # (batch, k)
        mask = np.full(logits.shape, -np.inf)
        np.put_along_axis(mask, keep, 0.0, axis=1)
        logits = logits + mask
    if temperature == 0:
        probs = np.zeros_like(logits)
        probs[np.arange(len(logits)), logits.argmax(axis=1)] = 1.0
    else:
        with np.errstate(over="ignore"):
            scaled = logits / temperature
        if np.isposinf(scaled).any():  # a tiny temperature overflows: shift first (near-greedy, no NaN)
            with np.errstate(over="ignore"):
                scaled = (logits - logits.max(axis=1, keepdims=True)) / temperature
        scaled -= scaled.max(axis=1, keepdims=True)
        probs = np.exp(scaled)
        probs /= probs.sum(axis=1, keepdims=True)
    return probs[0] if squeeze else probs


def sample_from(probs, rng) -> np.ndarray:
    """One id per row of ``probs`` (batch, vocab) using ``rng`` (a NumPy Generator)."""
    probs = np.atleast_2d(probs)
    cumulative = np.cumsum(probs, axis=1)
    u = rng.random((len(probs), 1)) * cumulative[:, -1:]
    ids = (cumulative <= u).sum(axis=1)  # first index whose cumulative mass exceeds u
    # never land on a zero-probability id through rounding at the top end
    return np.where(probs[np.arange(len(probs)), np.minimum(ids, probs.shape[1] - 1)] > 0,
                    np.minimum(ids, probs.shape[1] - 1), probs.argmax(axis=1))


# --------------------------------------------------------------------------------------------
# Generating sequences
# --------------------------------------------------------------------------------------------
def banned_ids(vocab) -> list:
    return [vocab.stoi[t] for t in ("<pad>", "<unk>", BOS, POS, NEG) if t in vocab.stoi]


def encode_prompt(prompt: str, vocab, label=None) -> list:
    """Start token for ``label`` plus the prompt's characters; a prompt with no known character is
    an error (the model would only see ``<unk>``)."""
    chars = char_tokenize(prompt or "")
    ids = vocab.encode(chars)
    if chars and all(i == vocab.unk_id for i in ids):
        raise CourseError(f"none of the characters of the prompt {prompt[:20]!r} is in the model's vocabulary")
    return [vocab.stoi[start_token(label)], *ids]


def interpolated_logits(logits, ngram, contexts, rnn_weight: float) -> np.ndarray:
    """log(w · softmax(logits) + (1 − w) · P_ngram(· | context)) for each row (batch, vocab): the
    interpolated model of chapter 07, in a form :func:`next_token_probs` takes as logits."""
    p = np.atleast_2d(next_token_probs(logits))  # (B, V) the RNN's distribution: softmax at temperature 1
    q = np.stack([ngram.distribution(ctx) for ctx in contexts])  # (B, V) the n-gram's
    return np.log(rnn_weight * p + (1.0 - rnn_weight) * q)  # q > 0 everywhere: no log 0


def generate_ids(model, prefixes, *, max_new=120, temperature=1.0, top_k=None, seed=0, banned=(),
                 eos_id=None, ngram=None, rnn_weight=1.0) -> list:
    """Continue each id list in ``prefixes`` (run as one batch; equal-length prefixes) by up to
    ``max_new`` sampled ids, stopping a row at ``eos_id``. Returns the new ids of each row
    (without ``eos_id``). With ``ngram``, sample from the model interpolated with it
    (:func:`interpolated_logits`, RNN weight ``rnn_weight``); temperature and top-k act on that."""
    temperature, top_k = check_temperature(temperature), check_top_k(top_k)
    if len({len(p) for p in prefixes}) != 1:
        raise CourseError("prefixes generated together must have the same length")
    if ngram is not None and not 0.0 < rnn_weight < 1.0:
        raise CourseError(f"the RNN's interpolation weight must be in (0, 1), got {rnn_weight}")
    history = [list(p) for p in prefixes]  # the n-gram's contexts
    rng = np.random.default_rng(shift_seed(seed))
    model.eval()
    out = [[] for _ in prefixes]
    done = np.zeros(len(prefixes), dtype=bool)
    with paddle.no_grad():
        logits, state = model(paddle.to_tensor(np.array(prefixes, dtype=np.int64)))  # (batch, time, vocab)
        for _ in range(max_new):
            last = logits[:, -1].numpy()  # (B, V)
            if ngram is not None:
                last = interpolated_logits(last, ngram, history, rnn_weight)
            probs = next_token_probs(last, temperature, top_k, banned)
            ids = sample_from(probs, rng)
            for row, token in enumerate(ids):
                history[row].append(int(token))
                if not done[row]:
                    if token == eos_id:
                        done[row] = True
                    else:
                        out[row].append(int(token))
            if done.all():
                break
            logits, state = model(paddle.to_tensor(ids.reshape(-1, 1).astype(np.int64)), state)
    return out


def generate_texts(model, vocab, *, prompt="", label=None, n=1, max_new=120, temperature=1.0, top_k=None,
                   seed=0, ngram=None, rnn_weight=1.0) -> list:
    """``n`` continuations of ``prompt`` (the prompt is included in each returned text); ``ngram`` and
    ``rnn_weight``: sample from the interpolated model (see :func:`generate_ids`)."""
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise CourseError(f"n must be a whole number ≥ 1, got {n!r}")
    prefix = encode_prompt(prompt, vocab, label)
    new = generate_ids(model, [prefix] * n, max_new=max_new, temperature=temperature, top_k=top_k, seed=seed,
                       banned=banned_ids(vocab), eos_id=vocab.stoi[EOS], ngram=ngram, rnn_weight=rnn_weight)
    return ["".join(vocab.decode(prefix[1:])) + "".join(vocab.decode(ids)) for ids in new]
