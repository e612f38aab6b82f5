"""Comparing sequence models by measurement: a 1-D CNN for the same tasks as the recurrent models,
parameter counts, and timing of forward + backward passes.

The CNNs respect padding exactly like ``SequenceClassifier`` with ``sequence_length``: activations at
padded positions are set to 0 after every convolution (which is what the convolution's own zero
padding sees at a sequence's edge), and pooling only looks at real steps.
"""

from __future__ import annotations

import time

import numpy as np
import paddle
import paddle.nn.functional as F
from paddle import nn

from rnn_course.data import BucketedBatches
from rnn_course.errors import CourseError
from rnn_course.runtime import shift_seed


def _time_mask(lengths, seq_len):
    return paddle.arange(seq_len).unsqueeze(0) < lengths.unsqueeze(1)  # (batch, time) bool


class ConvClassifier(nn.Layer):
    """Embedding → [Conv1D(kernel) → ReLU] × layers → max over real steps → dropout → Linear.

    ``forward(ids (batch, time) int64, lengths (batch,) int64) -> logits (batch, num_classes)``.
    Receptive field: 1 + layers · (kernel − 1) tokens.
    """

    def __init__(self, vocab_size, num_classes=2, embed_size=64, channels=64, kernel_size=3, layers=2,
                 dropout=0.3, padding_idx=0):
        super().__init__()
        if kernel_size % 2 == 0:
            raise CourseError(f"kernel_size must be odd so that 'same' padding is symmetric, got {kernel_size}")
        self.embedding = nn.Embedding(vocab_size, embed_size, padding_idx=padding_idx)
        sizes = [embed_size] + [channels] * layers
        self.convs = nn.LayerList([nn.Conv1D(a, b, kernel_size, padding=kernel_size // 2)
                                   for a, b in zip(sizes[:-1], sizes[1:], strict=True)])
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, ids, lengths):
        mask = _time_mask(lengths, ids.shape[1]).unsqueeze(1).astype("float32")  # (batch, 1, time)
        x = self.embedding(ids).transpose([0, 2, 1]) * mask  # (batch, embed, time)
        for conv in self.convs:
            x = F.relu(conv(x)) * mask  # (batch, channels, time), padding stays 0
        pooled = (x + (mask - 1.0) * 1e9).max(axis=2)  # (batch, channels): max over real steps only
        return self.fc(self.dropout(pooled))


class ConvRegressor(nn.Layer):
    """(batch, time, input) → [Conv1D → ReLU] × layers → mean over time → Linear → (batch, output).

    With global pooling the CNN sees the whole sequence however long it is — e.g. the adding problem
    becomes "sum value·marker over time", which a CNN can express directly.
    """

    def __init__(self, input_size=2, channels=32, kernel_size=3, layers=2, output_size=1):
        super().__init__()
        sizes = [input_size] + [channels] * layers
        self.convs = nn.LayerList([nn.Conv1D(a, b, kernel_size, padding=kernel_size // 2)
                                   for a, b in zip(sizes[:-1], sizes[1:], strict=True)])
        self.head = nn.Linear(channels, output_size)

    def forward(self, x):
        x = x.transpose([0, 2, 1])  # (batch, input, time)
        for conv in self.convs:
            x = F.relu(conv(x))  # (batch, channels, time)
        return self.head(x.mean(axis=2))


class LengthSortedBatches(BucketedBatches):
    """``(ids, lengths, labels)`` batches of texts sorted by length once (little padding); each pass
    visits the batches in a new order drawn from its own seeded generator."""

    def __init__(self, sequences, labels, batch_size=64, shuffle=False, seed=0):
        super().__init__(sequences, labels, batch_size, shuffle, pool=None,
                         rng=np.random.default_rng(shift_seed(seed)))


def time_forward_backward(model, inputs, repeats=3) -> float:
    """Best-of-``repeats`` wall-clock seconds of one forward + backward pass (sum of outputs as loss)."""
    inputs = [paddle.to_tensor(x) for x in inputs]
    model.train()
    best = float("inf")
    for _ in range(repeats + 1):  # the first pass warms up and is not counted
        start = time.perf_counter()
        model(*inputs).sum().backward()
        elapsed = time.perf_counter() - start
        model.clear_gradients()
        best = elapsed if _ > 0 and elapsed < best else best
    return best
