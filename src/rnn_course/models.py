"""Paddle models shared by the chapters. ``cell_type`` switches the recurrent layer by name
("rnn", "lstm", "gru"), like ``RNNModel`` in pytorch/examples' word_language_model."""

from __future__ import annotations

import numpy as np
import paddle
from paddle import nn

from rnn_course.cells import Unrolled, check_cell_type, make_scratch_cell
from rnn_course.errors import CourseError

LAYERS = {"rnn": nn.SimpleRNN, "lstm": nn.LSTM, "gru": nn.GRU}
# Embedding initialisers by name; None keeps Paddle's default (Xavier, fan_in = vocabulary size)
EMBED_INITS = {"xavier": lambda: None, "normal": lambda: nn.initializer.Normal(0.0, 1.0)}


def make_rnn(cell_type, input_size, hidden_size, num_layers=1, bidirectional=False, dropout=0.0,
             activation="tanh"):
    """``paddle.nn.SimpleRNN/LSTM/GRU`` by name, batch-first ((batch, time, feature)); ``activation``
    ("tanh" or "relu") applies to the SimpleRNN only."""
    cell_type = check_cell_type(cell_type)
    extra = {"activation": activation} if cell_type == "rnn" else {}
    return LAYERS[cell_type](input_size, hidden_size, num_layers=num_layers,
                            direction="bidirect" if bidirectional else "forward",
                            dropout=dropout if num_layers > 1 else 0.0, **extra)


def final_hidden(state, cell_type, num_layers, bidirectional):
    """The last layer's final h (both directions concatenated): (batch, directions·hidden)."""
    h = state[0] if check_cell_type(cell_type) == "lstm" else state  # (layers·dirs, batch, hidden)
    if bidirectional:
        return paddle.concat([h[2 * num_layers - 2], h[2 * num_layers - 1]], axis=-1)
    return h[num_layers - 1]


def check_token_inputs(ids, lengths, vocab_size: int) -> None:
    """The input contract of :class:`SequenceClassifier` (and of its exported copy): ``ids`` (batch, time)
    integers in ``[0, vocab_size)``, ``lengths`` (batch,) integers in ``[1, time]``. Paddle's kernels do
    not check it (a length > time crashes the process, an id out of range reads out of bounds), so
    this raises a :class:`CourseError` naming the argument first."""
    ids = ids.numpy() if isinstance(ids, paddle.Tensor) else np.asarray(ids)
    lengths = lengths.numpy() if isinstance(lengths, paddle.Tensor) else np.asarray(lengths)
    if ids.ndim != 2 or lengths.ndim != 1 or lengths.shape[0] != ids.shape[0]:
        raise CourseError(f"ids must be (batch, time) and lengths (batch,), got {list(ids.shape)} and "
                          f"{list(lengths.shape)}")
    if ids.dtype.kind not in "iu" or lengths.dtype.kind not in "iu":
        raise CourseError(f"ids and lengths must be integers, got {ids.dtype} and {lengths.dtype}")
    if ids.size and (ids.min() < 0 or ids.max() >= vocab_size):
        raise CourseError(f"ids must lie in [0, {vocab_size}) (the vocabulary), got {ids.min()}..{ids.max()}")
    if lengths.size and (lengths.min() < 1 or lengths.max() > ids.shape[1]):
        raise CourseError(f"lengths must lie in [1, {ids.shape[1]}] (the time steps of ids), got "
                          f"{lengths.min()}..{lengths.max()}")


class SequenceClassifier(nn.Layer):
    """Embedding → (Bi)RNN/LSTM/GRU with ``sequence_length`` → pooling → dropout → Linear.

    ``forward(ids (batch, time) int64, lengths (batch,) int64) -> logits (batch, num_classes)``.
    ``pooling``: "last" (final state at each sequence's true end), "mean" or "max" over real steps.
    ``embed_init``: "xavier" (Paddle's default for ``nn.Embedding``: Xavier with fan_in = vocabulary
    size, so rows of size about ±sqrt(6/(V+E)), ±0.02 for 12,000 words) or "normal" (N(0, 1) rows, as
    in ``rnn_course.seq2seq``).
    Padding never changes a prediction. Inputs are checked by :func:`check_token_inputs` (eager mode).
    """

    def __init__(self, vocab_size, num_classes=2, cell_type="lstm", embed_size=64, hidden_size=64,
                 num_layers=1, bidirectional=False, dropout=0.3, pooling="last", padding_idx=0,
                 embed_init="xavier"):
        super().__init__()
        if pooling not in ("last", "mean", "max"):
            raise CourseError(f"pooling must be 'last', 'mean' or 'max', got {pooling!r}")
        if embed_init not in EMBED_INITS:
            raise CourseError(f"embed_init must be one of {', '.join(EMBED_INITS)}, got {embed_init!r}")
        self.cell_type = check_cell_type(cell_type)
        self.num_layers, self.bidirectional = num_layers, bidirectional
        self.pooling = pooling
        self.embedding = nn.Embedding(vocab_size, embed_size, padding_idx=padding_idx,
                                      weight_attr=EMBED_INITS[embed_init]())
        self.rnn = make_rnn(cell_type, embed_size, hidden_size, num_layers, bidirectional, dropout)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(hidden_size * (2 if bidirectional else 1), num_classes)

    def encode(self, ids, lengths):
        x = self.embedding(ids)  # (batch, time, embed)
        outputs, state = self.rnn(x, sequence_length=lengths)  # (batch, time, dirs·hidden)
        if self.pooling == "last":
            return final_hidden(state, self.cell_type, self.num_layers, self.bidirectional)
        mask = (paddle.arange(ids.shape[1]).unsqueeze(0) < lengths.unsqueeze(1)).astype(outputs.dtype)
        mask = mask.unsqueeze(-1)  # (batch, time, 1)
        if self.pooling == "mean":
            return (outputs * mask).sum(axis=1) / mask.sum(axis=1)
        return (outputs + (mask - 1.0) * 1e9).max(axis=1)

    def forward(self, ids, lengths):
        if paddle.in_dynamic_mode():  # not while paddle.jit traces the graph (no concrete values then)
            check_token_inputs(ids, lengths, self.embedding._num_embeddings)
        return self.fc(self.dropout(self.encode(ids, lengths)))  # (batch, num_classes)


class SequenceRegressor(nn.Layer):
    """Real-valued sequences in, one value (per sequence or per step) out.

    ``forward(x (batch, time, input)) -> (batch, output)``, or (batch, time, output) with
    ``many_to_many=True``. Used for the adding problem, sine waves and time series.
    ``activation="relu"`` makes a ReLU SimpleRNN (with identity init: an IRNN).
    ``scratch=True`` swaps the fused Paddle layer for our from-scratch cell unrolled in Python
    (one layer only) — same parameters, same results, same training loop.
    """

    def __init__(self, input_size=1, hidden_size=32, cell_type="lstm", output_size=1, num_layers=1,
                 many_to_many=False, scratch=False, activation="tanh"):
        super().__init__()
        self.cell_type = check_cell_type(cell_type)
        self.num_layers, self.many_to_many = num_layers, many_to_many
        if scratch:
            if num_layers != 1:
                raise CourseError("the scratch version has one layer")
            self.rnn = Unrolled(make_scratch_cell(cell_type, input_size, hidden_size))
        else:
            self.rnn = make_rnn(cell_type, input_size, hidden_size, num_layers, activation=activation)
        self.head = nn.Linear(hidden_size, output_size)

    def forward(self, x):
        outputs, _ = self.rnn(x)  # (batch, time, hidden)
        return self.head(outputs if self.many_to_many else outputs[:, -1])


class LanguageModel(nn.Layer):
    """Token-level language model: Embedding → RNN/LSTM/GRU → Linear over the vocabulary.

    ``forward(ids (batch, time), state=None) -> (logits (batch, time, vocab), state)``.
    """

    def __init__(self, vocab_size, cell_type="gru", embed_size=64, hidden_size=256, num_layers=1,
                 dropout=0.0):
        super().__init__()
        self.cell_type = check_cell_type(cell_type)
        self.vocab_size = vocab_size
        # N(0, 1) rows, not Paddle's default Xavier (fan_in = vocabulary size gives rows of ±0.05 for 2,500
        # characters, so the recurrent layer first has to learn to amplify its input): measured on the review
        # corpus, validation perplexity 97.5 instead of 125.0 after the same 250 steps.
        self.embedding = nn.Embedding(vocab_size, embed_size, weight_attr=nn.initializer.Normal(0.0, 1.0))
        self.rnn = make_rnn(cell_type, embed_size, hidden_size, num_layers, dropout=dropout)
        self.dropout = nn.Dropout(dropout)
        self.decoder = nn.Linear(hidden_size, vocab_size)

    def forward(self, ids, state=None):
        outputs, state = self.rnn(self.embedding(ids), initial_states=state)  # (batch, time, hidden)
        return self.decoder(self.dropout(outputs)), state
