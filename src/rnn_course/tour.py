"""``rnn-course tour``: a few minutes that show what the course does, on a CPU, offline.

1. the from-scratch NumPy cells agree with ``paddle.nn`` (max |difference|);
2. a small GRU sentiment classifier is trained live on the Chinese review corpus;
3. its test accuracy is printed next to the TF-IDF baseline and the checkpoint shipped with the course;
4. three sentences are classified;
5. two Chinese sentences are translated by the shipped Seq2Seq + attention model (chapter 09), next to the
   BLEU its model card records for it and for a retrieval baseline;
6. the shipped character language model (chapter 07) writes two positive and two negative reviews, next to the
   perplexity its model card records for it, for the trigram baseline and for the two interpolated;
7. where to go next.
"""

from __future__ import annotations

import time

import numpy as np
import paddle

import rnn_course
from rnn_course import generate as gen
from rnn_course import language_model as lm
from rnn_course import translation as tr
from rnn_course.cells import cell_forward, numpy_params
from rnn_course.data import load_review_splits
from rnn_course.models import LAYERS
from rnn_course.sentiment import (
    LABEL_NAMES,
    SHIPPED_MODEL,
    SentimentConfig,
    SentimentPredictor,
    evaluate_model,
    make_batches,
    tfidf_baseline,
    train_model,
)

TOUR_SENTENCES = ("房间很干净，服务也很周到，下次还来", "质量太差了，用了两天就坏了", "书的内容一般，但是印刷很精美")
TOUR_TRANSLATIONS = ("我昨天在北京见了他。", "你明天有空吗？")


def show_translations() -> None:
    """Translate :data:`TOUR_TRANSLATIONS` with the shipped model (beam 4, the α its card records)."""
    model, src_vocab, tgt_vocab, _, card = tr.load_model()
    print(f"\n5) Chinese → English, shipped Seq2Seq + attention (chapter 09; test BLEU {card['test_bleu_beam4']:.2f} "
          f"with beam 4 vs {card['retrieval_test_bleu']:.2f} for a retrieval baseline, {card['test_sentences']:,} "
          "Tatoeba test sentences):")
    items = [tr.tokenize_chinese(text) for text in TOUR_TRANSLATIONS]
    english = tr.translate_items(model, items, src_vocab, tgt_vocab, beam_size=4, alpha=card["beam_alpha"])
    for text, line in zip(TOUR_TRANSLATIONS, english, strict=True):
        print(f"   {text}  →  {line}")


def show_generation(seed: int = 0) -> None:
    """Two ``<pos>`` and two ``<neg>`` reviews from the shipped character LM (temperature 0.8, top-k 20)."""
    model, vocab, _, card = lm.load_language_model()
    trigram = card["baselines"]["trigram"]
    print(f"\n6) Review writing, shipped character language model (chapter 07; validation perplexity "
          f"{card['valid_perplexity']:.1f} per character vs {trigram['valid']:.1f} for an interpolated trigram, "
          f"{card['trigram_mixture']['valid_perplexity']:.1f} for the two interpolated):")
    print("   (two samples per label, temperature 0.8, top-k 20, not picked; chapter 07 measures how often a")
    print("   classifier agrees with the label)")
    for label in ("pos", "neg"):
        for text in gen.generate_texts(model, vocab, prompt="这家酒店", label=label, n=2, temperature=0.8, top_k=20,
                                       seed=seed, max_new=60):
            print(f"   <{label}> {text}")


def verify_cells(seed: int = 0) -> dict:
    """Max |scratch − paddle.nn| for each cell type over a random 9-step sequence."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((3, 9, 5)).astype(np.float32)
    diffs = {}
    for name, layer_cls in LAYERS.items():
        layer = layer_cls(5, 7)
        out, _ = layer(paddle.to_tensor(x))
        p = numpy_params(layer)
        ours, _ = cell_forward(name, x, p["weight_ih_l0"], p["weight_hh_l0"], p["bias_ih_l0"], p["bias_hh_l0"])
        diffs[name] = float(np.abs(ours - out.numpy()).max())
    return diffs


def train_small_sentiment(splits: dict, epochs: int = 1):
    """A char-level GRU(64) over the first 64 characters, ``epochs`` passes; returns
    ``(predictor, test metrics, seconds)``."""
    config = SentimentConfig(tokenizer="char", cell_type="gru", embed_size=32, hidden_size=64, max_len=64,
                             max_vocab=4000, dropout=0.2)
    start = time.perf_counter()
    model, vocab, _ = train_model(splits, config, epochs=epochs, batch_size=64, learning_rate=3e-3)
    seconds = time.perf_counter() - start
    scores = evaluate_model(model, make_batches(splits["test"], vocab, config, 256))
    return SentimentPredictor(model, vocab, config), scores, seconds


def _row(name, scores):
    return f"   {name:36s} accuracy {scores['accuracy']:.4f} · F1 {scores['f1']:.4f}"


def show_tour(seed: int = 0) -> int:
    """Print the tour (the ``rnn-course tour`` command)."""
    rnn_course.setup(seed, font=False)
    start = time.perf_counter()
    print("循环神经网络实战课 — tour (CPU, offline)\n")
    print("1) From-scratch NumPy cells vs paddle.nn (max |difference| over 9 steps):")
    for name, diff in verify_cells(seed).items():
        print(f"   {name:5s} {diff:.1e}  {'OK' if diff <= 1e-5 else 'MISMATCH'}")

    splits = load_review_splits(seed=0)
    print(f"\n2) Sentiment of Chinese reviews (hotels, books, laptops): {len(splits['train'])} train / "
          f"{len(splits['test'])} test texts, deduplicated before splitting.")
    print("   Training a char-level GRU(64) for one epoch …")
    small, small_scores, seconds = train_small_sentiment(splits)
    print(f"   done in {seconds:.0f} s.")
    _, base_scores = tfidf_baseline(splits, C_grid=(10.0,))
    print("\n3) Test split, side by side:")
    print(_row("GRU trained just now (1 epoch)", small_scores))
    print(_row("TF-IDF char 1-3-gram + LogisticReg.", base_scores))
    shipped = None
    if (SHIPPED_MODEL / "manifest.json").is_file():
        shipped = SentimentPredictor.load()
        print(_row("shipped checkpoint (longer training)", shipped.evaluate(splits["test"])))

    print("\n4) Predictions (P(positive)):")
    for predictor_name, predictor in (("live GRU", small), ("shipped", shipped)):
        if predictor is None:
            continue
        for text, (label, prob) in zip(TOUR_SENTENCES, predictor.predict(TOUR_SENTENCES), strict=False):
            print(f"   [{predictor_name:8s}] {LABEL_NAMES[label]:16s} {prob:.2f}  {text}")

    show_translations()
    show_generation(seed)

    print(f"\nDone in {time.perf_counter() - start:.0f} s. Next:")
    print("   make lab                      open the chapters (start with chapters/01_rnn_basics.ipynb;")
    print("                                 chapters/05_sentiment_lstm.ipynb is this sentiment model end to end)")
    print("   rnn-course sentiment --help   train / evaluate / predict / export your own model")
    print("   rnn-course translate --help   translate, evaluate (BLEU) or train a translation model")
    return 0
