"""Sequence to sequence: a translation task generated in code, a GRU encoder–decoder with additive
(Bahdanau) attention, a masked loss, greedy decoding and beam search.

The task: Chinese numerals → Arabic digits (三千零五十二 → 3 0 5 2). Pairs are generated, so the data
needs no download and held-out sets are as large as we like; the "long" test set holds source
lengths never seen in training.
"""

from __future__ import annotations

import numpy as np
import paddle
import paddle.nn.functional as F
from paddle import nn

from rnn_course.data import PAD, UNK, Vocab, pad_batch
from rnn_course.errors import CourseError
from rnn_course.runtime import shift_seed
from rnn_course.train import masked_cross_entropy  # noqa: F401  (the loss chapter 09 uses)

BOS, EOS = "<bos>", "<eos>"
DIGITS = "零一二三四五六七八九"
UNITS = ("", "十", "百", "千")


# --------------------------------------------------------------------------------------------
# The task: Chinese numerals → digits
# --------------------------------------------------------------------------------------------
def _group_to_chinese(n: int) -> str:
    """0 < n < 10000 as Chinese: inner zero runs become one 零, trailing zeros are dropped."""
    out, zero_pending = [], False
    for power in (3, 2, 1, 0):
        digit = n // 10**power % 10
        if digit == 0:
            zero_pending = bool(out)
            continue
        if zero_pending:
            out.append("零")
            zero_pending = False
        out.append(DIGITS[digit] + UNITS[power])
    return "".join(out)


def to_chinese_numeral(n: int) -> str:
    """0 ≤ n < 10⁸ in Chinese numerals: 3052 → 三千零五十二, 10052 → 一万零五十二, 15 → 十五."""
    if not 0 <= n < 10**8:
        raise CourseError(f"numbers must lie in [0, 10^8), got {n}")
    if n == 0:
        return "零"
    high, low = divmod(n, 10000)
    text = _group_to_chinese(high) + "万" if high else ""
    if low:
        text += ("零" if high and low < 1000 else "") + _group_to_chinese(low)
    return text[1:] if text.startswith("一十") else text  # 一十五 → 十五 at the very start only


def sample_numbers(n: int, rng, max_digits: int = 8) -> np.ndarray:
    """``n`` numbers whose digit count is uniform in 1…max_digits (then uniform within it)."""
    digits = rng.integers(1, max_digits + 1, size=n)
    low = np.where(digits == 1, 0, 10 ** (digits - 1))
    return rng.integers(low, 10**digits)


def numeral_pairs(numbers) -> list:
    """[(source characters, target digits)] for the given numbers."""
    return [(list(to_chinese_numeral(int(x))), list(str(int(x)))) for x in numbers]


def numeral_splits(n_train=20000, n_valid=1000, n_test=1000, max_train_len=10, max_test_len=16, seed=0):
    """Fixed, disjoint splits. ``train``/``valid``/``test`` have source length ≤ ``max_train_len``;
    ``test_long`` has source lengths ``max_train_len``+1 … ``max_test_len``, never seen in training."""
    rng = np.random.default_rng(shift_seed(seed))
    wanted = {"train": n_train, "valid": n_valid, "test": n_test, "test_long": n_test}
    splits: dict = {name: [] for name in wanted}
    seen: set = set()
    while any(len(splits[k]) < v for k, v in wanted.items()):
        for x in sample_numbers(4096, rng):
            x = int(x)
            if x in seen:
                continue
            length = len(to_chinese_numeral(x))
            names = ("train", "valid", "test") if length <= max_train_len else (
                ("test_long",) if length <= max_test_len else ())
            name = next((k for k in names if len(splits[k]) < wanted[k]), None)
            if name is not None:
                seen.add(x)
                splits[name].append(x)
    return {name: numeral_pairs(numbers) for name, numbers in splits.items()}


def numeral_vocabs() -> tuple:
    """(source vocab, target vocab); ids 0–3 are <pad>, <unk>, <bos>, <eos> in both."""
    head = [PAD, UNK, BOS, EOS]
    return Vocab(head + list(DIGITS + "十百千万")), Vocab(head + list("0123456789"))


class PairBatches:
    """Re-iterable batches ``(src, src_len, tgt_in, tgt_out)`` of int64 arrays for :func:`train.fit`.

    ``tgt_in`` = <bos> y₁ … y_m, ``tgt_out`` = y₁ … y_m <eos> (teacher forcing), both padded with 0.
    With ``shuffle`` each pass draws a new order from its own seeded generator.
    """

    def __init__(self, pairs, src_vocab: Vocab, tgt_vocab: Vocab, batch_size=64, shuffle=False, seed=0):
        if not pairs:
            raise CourseError("no sentence pairs to batch")
        self.src = [src_vocab.encode(s) for s, _ in pairs]
        self.tgt = [tgt_vocab.encode(t) for _, t in pairs]
        self.bos, self.eos = tgt_vocab.stoi[BOS], tgt_vocab.stoi[EOS]
        self.batch_size, self.shuffle = batch_size, shuffle
        self.rng = np.random.default_rng(shift_seed(seed))

    def __len__(self):
        return -(-len(self.src) // self.batch_size)

    def __iter__(self):
        order = self.rng.permutation(len(self.src)) if self.shuffle else np.arange(len(self.src))
        for start in range(0, len(order), self.batch_size):
            index = order[start : start + self.batch_size]
            src, src_len = pad_batch([self.src[i] for i in index])
            tgt_in, _ = pad_batch([[self.bos] + self.tgt[i] for i in index])
            tgt_out, _ = pad_batch([self.tgt[i] + [self.eos] for i in index])
            yield src, src_len, tgt_in, tgt_out


# --------------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------------
class AdditiveAttention(nn.Layer):
    """Bahdanau attention: e_j = vᵀ tanh(W_q s + W_k h_j), α = softmax(e) over real positions only,
    context = Σ_j α_j h_j. Padding gets weight exactly 0."""

    def __init__(self, query_size, key_size, attention_size):
        super().__init__()
        self.W_q = nn.Linear(query_size, attention_size, bias_attr=False)
        self.W_k = nn.Linear(key_size, attention_size)
        self.v = nn.Linear(attention_size, 1, bias_attr=False)

    def project_keys(self, keys):
        return self.W_k(keys)  # (batch, src_time, attention) — computed once per source

    def forward(self, query, projected_keys, values, mask):
        # query (batch, query), projected_keys (batch, S, attention), values (batch, S, key), mask (batch, S)
        scores = self.v(paddle.tanh(projected_keys + self.W_q(query).unsqueeze(1))).squeeze(-1)  # (batch, S)
        return masked_softmax_context(scores, values, mask)


class ScaledDotAttention(nn.Layer):
    """Scaled dot-product attention (the Transformer's form, one head): e_j = (W_q s)·h_j / √d,
    α = softmax(e) over real positions, context = Σ_j α_j h_j."""

    def __init__(self, query_size, key_size):
        super().__init__()
        self.W_q = nn.Linear(query_size, key_size, bias_attr=False)
        self.scale = 1.0 / float(np.sqrt(key_size))

    def project_keys(self, keys):
        return keys  # the keys are the encoder states themselves

    def forward(self, query, keys, values, mask):
        scores = paddle.bmm(keys, self.W_q(query).unsqueeze(-1)).squeeze(-1) * self.scale  # (batch, S)
        return masked_softmax_context(scores, values, mask)


def masked_softmax_context(scores, values, mask):
    """Softmax of ``scores`` (batch, S) over positions where ``mask`` is true → (context, weights)."""
    scores = paddle.where(mask, scores, paddle.full_like(scores, float("-inf")))
    # Paddle's CPU exp floors at ≈ 1e-29, so softmax leaves tiny weights on padding: zero them
    weights = F.softmax(scores, axis=-1) * mask.astype(scores.dtype)  # (batch, S)
    context = paddle.bmm(weights.unsqueeze(1), values).squeeze(1)  # (batch, key)
    return context, weights


ATTENTION_KINDS = ("additive", "dot", "none")


def _attention_kind(attention) -> str:
    if attention is True:
        return "additive"
    if attention is False or attention is None:
        return "none"
    if attention not in ATTENTION_KINDS:
        raise CourseError(f"attention must be one of {', '.join(ATTENTION_KINDS)}, got {attention!r}")
    return attention


class Seq2Seq(nn.Layer):
    """GRU encoder–decoder with additive attention, scaled dot-product attention, or none.

    * Encoder: Embedding → GRU (bidirectional if asked) with ``sequence_length``: h_1 … h_S (outputs
      past each length are 0) and the final state(s) h_S, taken at the true last step.
    * Decoder start: s_0 = tanh(W_init h_S + b_init) (both directions' final states concatenated).
    * Context c_t: with attention, Attention(s_{t-1}, h_1…h_S) (Bahdanau et al. 2015); without, the fixed
      c = h_S at every step (Cho et al. 2014) — so both variants see the source at every step and in the
      output layer, and differ only in how c_t is formed.
    * s_t = GRU([emb(y_{t-1}); c_t], s_{t-1}); o_t = tanh(W_o [s_t; c_t; emb(y_{t-1})] + b_o) (size
      ``hidden_size``: a small read-out layer keeps the large vocabulary matmul cheap);
      logits = W_out o_t + b_out.

    ``forward(src, src_len, tgt_in) -> logits (batch, T, tgt_vocab)`` (teacher forcing).
    """

    def __init__(self, src_vocab_size, tgt_vocab_size, embed_size=32, hidden_size=64, attention="additive",
                 bidirectional=False, dropout=0.0, pad_id=0, bos_id=2, eos_id=3, banned_ids=(0, 1, 2)):
        super().__init__()
        self.dropout = nn.Dropout(dropout)  # on embeddings and the read-out input; inactive in eval mode
        self.kind = _attention_kind(attention)
        self.pad_id, self.bos_id, self.eos_id = pad_id, bos_id, eos_id
        self.bidirectional = bool(bidirectional)
        enc_size = hidden_size * (2 if bidirectional else 1)
        # Paddle's default for Embedding is Xavier-uniform with fan_in = vocabulary size: rows of size
        # ±sqrt(6/(V+E)) (±0.04 for 3,675 words), too small to carry the input; use N(0, 1) instead
        self.src_embedding = nn.Embedding(src_vocab_size, embed_size, padding_idx=pad_id,
                                          weight_attr=nn.initializer.Normal(0.0, 1.0))
        self.tgt_embedding = nn.Embedding(tgt_vocab_size, embed_size, padding_idx=pad_id,
                                          weight_attr=nn.initializer.Normal(0.0, 1.0))
        self.encoder = nn.GRU(embed_size, hidden_size, direction="bidirect" if bidirectional else "forward")
        self.init_state = nn.Linear(enc_size, hidden_size)
        if self.kind == "additive":
            self.attention = AdditiveAttention(hidden_size, enc_size, hidden_size)
        elif self.kind == "dot":
            self.attention = ScaledDotAttention(hidden_size, enc_size)
        else:
            self.attention = None
        self.decoder = nn.GRU(embed_size + enc_size, hidden_size)
        self.readout = nn.Linear(hidden_size + enc_size + embed_size, hidden_size)
        self.out = nn.Linear(hidden_size, tgt_vocab_size)
        # tokens the decoder may never emit (<pad>, <unk>, <bos>): log-probability −inf when decoding
        banned = np.zeros(tgt_vocab_size, dtype=np.float32)
        banned[list(banned_ids)] = -np.inf
        self.register_buffer("banned", paddle.to_tensor(banned), persistable=False)

    def encode(self, src, src_len):
        """→ (outputs (batch, S, enc), s_0 (batch, hidden), keys, mask (batch, S), final h (batch, enc))."""
        outputs, h = self.encoder(self.dropout(self.src_embedding(src)), sequence_length=src_len)  # (B, S, enc)
        final = paddle.concat([h[0], h[1]], axis=-1) if self.bidirectional else h[0]  # (batch, enc)
        mask = paddle.arange(src.shape[1]).unsqueeze(0) < src_len.unsqueeze(1)  # (batch, S) bool
        keys = self.attention.project_keys(outputs) if self.attention is not None else None
        s0 = paddle.tanh(self.init_state(final))  # (batch, hidden)
        return outputs, s0, keys, mask, final

    def step(self, y_prev, state, memory):
        """One decoder step: y_prev (batch,) ids, state (batch, hidden) → (logits, new state, weights)."""
        outputs, _, keys, mask, final = memory
        emb = self.dropout(self.tgt_embedding(y_prev))  # (batch, embed)
        if self.attention is None:
            context, weights = final, None  # Cho et al. 2014: the same summary at every step
        else:
            context, weights = self.attention(state, keys, outputs, mask)  # (batch, enc), (batch, S)
        out, _ = self.decoder(paddle.concat([emb, context], axis=-1).unsqueeze(1),
                              initial_states=state.unsqueeze(0))  # (batch, 1, hidden)
        state = out[:, 0]  # (batch, hidden)
        return self.output_logits(state, context, emb), state, weights

    def output_logits(self, state, context, emb):
        """logits = W_out tanh(W_o [s_t; c_t; emb(y_{t-1})] + b_o) + b_out (works on (B, ·) and (B, T, ·))."""
        return self.out(paddle.tanh(self.readout(self.dropout(paddle.concat([state, context, emb], axis=-1)))))

    def teacher_forced(self, src, src_len, tgt_in):
        """→ (logits (batch, T, vocab), attention weights (batch, T, S) or None)."""
        memory = self.encode(src, src_len)
        if self.attention is None:  # the context does not depend on s_{t-1}: one fused GRU call
            emb = self.dropout(self.tgt_embedding(tgt_in))  # (batch, T, embed)
            context = memory[4].unsqueeze(1).expand([-1, tgt_in.shape[1], -1])  # (batch, T, enc)
            states, _ = self.decoder(paddle.concat([emb, context], axis=-1),
                                     initial_states=memory[1].unsqueeze(0))  # (batch, T, hidden)
            return self.output_logits(states, context, emb), None
        state, logits, weights = memory[1], [], []
        for t in range(tgt_in.shape[1]):
            step_logits, state, alpha = self.step(tgt_in[:, t], state, memory)
            logits.append(step_logits)
            weights.append(alpha)
        return paddle.stack(logits, axis=1), paddle.stack(weights, axis=1)

    def forward(self, src, src_len, tgt_in):
        return self.teacher_forced(src, src_len, tgt_in)[0]

    def log_probs(self, logits):
        """Decoding distribution: log-softmax over the vocabulary, banned tokens at −inf.

        Written as logits − logsumexp(logits): Paddle 3.3's CPU ``log_softmax`` kernel is ~50× slower
        (0.47 s for a (256, 3675) batch), which made greedy decoding of a test set take minutes."""
        return logits - paddle.logsumexp(logits, axis=-1, keepdim=True) + self.banned


# --------------------------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------------------------
def _as_tensors(src, src_len):
    return paddle.to_tensor(np.asarray(src, dtype=np.int64)), paddle.to_tensor(np.asarray(src_len, dtype=np.int64))


@paddle.no_grad()
def greedy_decode(model: Seq2Seq, src, src_len, max_len=12, return_attention=False):
    """Pick the most probable token at each step until <eos> (not included in the result) or max_len
    tokens. Returns a list of id lists (and attention weights (batch, steps, S) if asked)."""
    model.eval()
    src, src_len = _as_tensors(src, src_len)
    memory = model.encode(src, src_len)
    state = memory[1]
    y = paddle.full([src.shape[0]], model.bos_id, dtype="int64")
    tokens, weights = [], []
    for _ in range(max_len):
        logits, state, alpha = model.step(y, state, memory)
        y = model.log_probs(logits).argmax(axis=-1)  # (batch,)
        tokens.append(y.numpy())
        weights.append(alpha.numpy() if alpha is not None else None)
        if bool((np.stack(tokens, axis=1) == model.eos_id).any(axis=1).all()):
            break
    tokens = np.stack(tokens, axis=1)  # (batch, steps)
    results = []
    for row in tokens.tolist():
        results.append(row[: row.index(model.eos_id)] if model.eos_id in row else row)
    if return_attention:
        return results, (np.stack(weights, axis=1) if weights[0] is not None else None)
    return results


def length_normalized(score: float, length: int, alpha: float) -> float:
    """Beam-search ranking score: total log-probability / L^α, L = tokens emitted including <eos>."""
    return score / max(length, 1) ** alpha


@paddle.no_grad()
def beam_search(model: Seq2Seq, src, src_len, beam_size=4, max_len=12, alpha=0.0):
    """Beam search for one source (src (1, S)). Returns (ids without <eos>, total log-probability).

    At each step every live hypothesis is extended by every allowed token; the ``beam_size`` best
    candidates (by total log-probability) are kept — those ending in <eos> move to the finished list,
    the rest stay live. Hypotheses still live after ``max_len`` tokens finish as they are. The result
    is the finished hypothesis with the best :func:`length_normalized` score (1/L^α).

    With ``alpha=0`` (no normalisation) scores never increase, so the search stops as soon as no live
    hypothesis can beat the best finished one; with ``alpha>0`` a longer hypothesis can still win, so
    it stops once ``beam_size`` hypotheses have finished. ``beam_size=1`` is exactly greedy decoding.
    """
    if beam_size < 1:
        raise CourseError(f"beam_size must be at least 1, got {beam_size}")
    if alpha < 0:
        raise CourseError(f"alpha must be ≥ 0, got {alpha}")
    model.eval()
    src, src_len = _as_tensors(src, src_len)
    if src.shape[0] != 1:
        raise CourseError("beam_search decodes one source at a time (batch size 1)")
    outputs, state, keys, mask, final = model.encode(src, src_len)  # state: (live, hidden)
    live = [([], 0.0)]  # (tokens, total log-probability)
    finished = []

    def rank(item):
        tokens, score = item
        return length_normalized(score, len(tokens) + 1, alpha)

    for _ in range(max_len):
        k = len(live)
        memory = (outputs.expand([k, *outputs.shape[1:]]), None,
                  keys.expand([k, *keys.shape[1:]]) if keys is not None else None,
                  mask.expand([k, mask.shape[1]]), final.expand([k, final.shape[1]]))
        y_prev = paddle.to_tensor([toks[-1] if toks else model.bos_id for toks, _ in live], dtype="int64")
        logits, new_state, _ = model.step(y_prev, state, memory)
        scores = model.log_probs(logits).numpy().astype(np.float64) + np.array([s for _, s in live])[:, None]
        flat = np.argsort(-scores, axis=None, kind="stable")[:beam_size]
        keep, next_live = [], []
        for index in flat:
            row, token = divmod(int(index), scores.shape[1])
            score = float(scores[row, token])
            if not np.isfinite(score):
                continue
            if token == model.eos_id:
                finished.append((live[row][0], score))
            else:
                keep.append(row)
                next_live.append((live[row][0] + [token], score))
        live = next_live
        if not live:
            break
        state = paddle.gather(new_state, paddle.to_tensor(keep, dtype="int64"))
        if alpha == 0:
            if max((s for _, s in finished), default=-np.inf) >= max(s for _, s in live):
                break
        elif len(finished) >= beam_size:
            break
    else:
        finished.extend((tokens, score) for tokens, score in live)  # reached max_len: they end here
    best = max(finished, key=rank)
    return best[0], best[1]


@paddle.no_grad()
def sequence_log_prob(model: Seq2Seq, src, src_len, tokens, end_with_eos=True) -> float:
    """Total log-probability of ``tokens`` (+ <eos>) for one source, by teacher forcing — an
    independent route to the score beam search reports."""
    model.eval()
    src, src_len = _as_tensors(src, src_len)
    target = list(tokens) + ([model.eos_id] if end_with_eos else [])
    tgt_in = paddle.to_tensor([[model.bos_id] + target[:-1]], dtype="int64")
    log_p = model.log_probs(model(src, src_len, tgt_in)).numpy()[0].astype(np.float64)  # (T, vocab)
    return float(sum(log_p[t, tok] for t, tok in enumerate(target)))


def translate(model, pairs, src_vocab, tgt_vocab, batch_size=256, max_len=12, beam_size=1, alpha=0.0):
    """Decode every source of ``pairs`` (items whose first element is the source token list); returns
    predicted token lists (strings of the target vocab)."""
    predictions = []
    for start in range(0, len(pairs), batch_size):
        chunk = pairs[start : start + batch_size]
        if beam_size == 1:
            src, src_len = pad_batch([src_vocab.encode(item[0]) for item in chunk])
            predictions += greedy_decode(model, src, src_len, max_len=max_len)
        else:
            for item in chunk:
                ids = src_vocab.encode(item[0])
                predictions.append(beam_search(model, [ids], [len(ids)], beam_size, max_len, alpha)[0])
    return [tgt_vocab.decode(p) for p in predictions]
