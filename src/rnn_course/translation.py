"""Chinese → English sentence pairs from Tatoeba: load, normalise, tokenise, split by source, build
vocabularies, score with BLEU (sacrebleu's 13a tokenisation, all references) and a retrieval baseline.

The data (``assets/tatoeba/cmn-eng.txt.gz``) is the Tatoeba Project's Mandarin–English file, CC-BY 2.0
(France); every line keeps its attribution column. Nothing is downloaded.

Choices (measured in chapter 09 and ``tests/test_translation.py``):

* Chinese is normalised with NFKC (full-width ASCII letters, digits and ``！？，：；（）`` become their
  half-width forms; ``。`` and ``、`` stay) and tokenised **by character**; traditional characters are
  kept as they are (a few lines use them; no converter ships offline).
* English keeps its case and is split into words and punctuation; contractions stay one token
  (``don't``, ``I'm``) as in sacrebleu's 13a tokeniser, so detokenised output scores the same.
* Pairs are grouped by Chinese source: every English translation of a source is one of its
  references, and a source never lands in two splits.
"""

from __future__ import annotations

import gzip
import re
import time
import unicodedata
from collections import defaultdict
from pathlib import Path

import numpy as np

import rnn_course
from rnn_course import checkpoints, seq2seq, train
from rnn_course.data import PAD, UNK, Vocab
from rnn_course.errors import CourseError
from rnn_course.metrics import corpus_bleu

BOS, EOS = "<bos>", "<eos>"
SPECIALS = (BOS, EOS)
DATA_FILE = "cmn-eng.txt.gz"
ATTRIBUTION = "Tatoeba (tatoeba.org), CC-BY 2.0 FR"


# --------------------------------------------------------------------------------------------
# Loading and normalising
# --------------------------------------------------------------------------------------------
def read_raw_pairs(path=None) -> list:
    """[(english, chinese, attribution)] exactly as in the file (BOM and blank lines dropped)."""
    if path is None:
        handle = open(Path(__file__).resolve().parent / "assets" / "tatoeba" / DATA_FILE, "rb")  # noqa: SIM115
    else:
        handle = open(path, "rb")  # noqa: SIM115
    with handle:
        raw = handle.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    rows = []
    for number, line in enumerate(raw.decode("utf-8-sig").splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) < 2:
            raise CourseError(f"line {number}: expected 'English<TAB>中文[<TAB>attribution]'")
        rows.append((fields[0], fields[1], fields[2] if len(fields) > 2 else ""))
    return rows


def normalize_chinese(text: str) -> str:
    """NFKC (full-width → half-width for ASCII-range characters), spaces removed."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def normalize_english(text: str) -> str:
    """NFKC, curly quotes → straight, single spaces."""
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"').replace("\u201d", '"')
    return re.sub(r"\s+", " ", text).strip()


def tokenize_chinese(text: str) -> list:
    """One token per character of the normalised sentence."""
    return list(normalize_chinese(text))


_ENGLISH_TOKEN = re.compile(r"[A-Za-z0-9]+(?:['.,:][A-Za-z0-9]+)*|[^\sA-Za-z0-9]")


def tokenize_english(text: str) -> list:
    """Words (with inner apostrophes/decimal points kept: ``don't``, ``3.5``) and single punctuation marks."""
    return _ENGLISH_TOKEN.findall(normalize_english(text))


def detokenize_english(tokens) -> str:
    """Tokens → a sentence: no space before ``. , ! ? ; : )`` or after ``(`` (the inverse of the tokenizer
    on ordinary sentences)."""
    text = " ".join(tokens)
    text = re.sub(r" ([.,!?;:)%])", r"\1", text)
    return re.sub(r"([($]) ", r"\1", text)


def load_pairs(path=None, max_len: int | None = None) -> list:
    """[(chinese tokens, english tokens)] after normalisation; with ``max_len`` only pairs whose both
    sides have at most that many tokens."""
    pairs = []
    for english, chinese, _ in read_raw_pairs(path):
        src, tgt = tokenize_chinese(chinese), tokenize_english(english)
        if not src or not tgt:
            continue
        if max_len is not None and (len(src) > max_len or len(tgt) > max_len):
            continue
        pairs.append((src, tgt))
    return pairs


def group_by_source(pairs) -> dict:
    """{source string: [english token lists]} in first-seen order, duplicates removed."""
    groups: dict = defaultdict(list)
    for src, tgt in pairs:
        refs = groups["".join(src)]
        if tgt not in refs:
            refs.append(tgt)
    return dict(groups)


def split_by_source(pairs, fractions=(0.8, 0.1, 0.1), seed: int = 0) -> dict:
    """{"train", "valid", "test"}: lists of ``(source tokens, [reference token lists])``, one item per
    distinct Chinese source. Sources are shuffled by a fixed generator (the split defines the shipped
    model's test set, so it does **not** follow ``RNN_COURSE_SEED_OFFSET``)."""
    if len(fractions) != 3 or abs(sum(fractions) - 1) > 1e-9 or min(fractions) <= 0:
        raise CourseError(f"fractions must be three positive numbers summing to 1, got {fractions}")
    groups = group_by_source(pairs)
    sources = sorted(groups)
    order = np.random.default_rng(seed).permutation(len(sources))
    n_train = int(round(fractions[0] * len(sources)))
    n_valid = int(round(fractions[1] * len(sources)))
    parts = {"train": order[:n_train], "valid": order[n_train : n_train + n_valid],
             "test": order[n_train + n_valid :]}
    return {name: [(list(sources[i]), groups[sources[i]]) for i in sorted(index)] for name, index in parts.items()}


def training_pairs(items) -> list:
    """Expand ``(source, references)`` items into one ``(source, reference)`` pair per reference."""
    return [(src, ref) for src, refs in items for ref in refs]


def build_vocabs(train_items, min_freq: int = 2, max_vocab: int | None = None) -> tuple:
    """(Chinese character vocab, English word vocab) from the training split; ids 0–3 are
    ``<pad> <unk> <bos> <eos>`` in both. Rarer tokens map to ``<unk>``."""
    src_vocab = Vocab.build((src for src, _ in train_items), max_vocab=max_vocab, min_freq=min_freq,
                            specials=SPECIALS)
    tgt_vocab = Vocab.build((ref for _, refs in train_items for ref in refs), max_vocab=max_vocab,
                            min_freq=min_freq, specials=SPECIALS)
    return src_vocab, tgt_vocab


def vocab_from_list(tokens) -> Vocab:
    if list(tokens[:4]) != [PAD, UNK, BOS, EOS]:
        raise CourseError("a translation vocabulary must start with <pad> <unk> <bos> <eos>")
    return Vocab(tokens)


# --------------------------------------------------------------------------------------------
# BLEU with sacrebleu's 13a tokenisation
# --------------------------------------------------------------------------------------------
def tokenize_13a(line: str) -> list:
    """mteval-v13a tokenisation as sacrebleu applies it (``tokenize="13a"``), written out here so the
    course's BLEU does not call the library it is checked against."""
    line = line.replace("<skipped>", "").replace("-\n", "").replace("\n", " ")
    if "&" in line:
        line = line.replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    line = f" {line} "
    line = re.sub(r"([\{-\~\[-\` -\&\(-\+\:-\@\/])", r" \1 ", line)
    line = re.sub(r"([^0-9])([\.,])", r"\1 \2 ", line)  # period/comma unless preceded by a digit
    line = re.sub(r"([\.,])([^0-9])", r" \1 \2", line)  # period/comma unless followed by a digit
    line = re.sub(r"([0-9])(-)", r"\1 \2 ", line)  # dash when preceded by a digit
    return line.split()


def bleu(hypotheses, references) -> float:
    """Corpus BLEU (0–100) of detokenised English strings against lists of reference strings, all
    tokenised by :func:`tokenize_13a` — equal to ``sacrebleu.corpus_bleu(..., tokenize="13a")``."""
    hypotheses, references = list(hypotheses), list(references)
    if len(hypotheses) != len(references):
        raise CourseError(f"{len(hypotheses)} hypotheses but {len(references)} reference sets")
    return corpus_bleu([tokenize_13a(h) for h in hypotheses],
                       [[tokenize_13a(r) for r in refs] for refs in references])


def references_text(items) -> list:
    """Detokenised reference strings for each ``(source, references)`` item."""
    return [[detokenize_english(ref) for ref in refs] for _, refs in items]


# --------------------------------------------------------------------------------------------
# Retrieval baseline
# --------------------------------------------------------------------------------------------
class RetrievalTranslator:
    """Translate by lookup: return the English of the most similar training source, similarity =
    cosine of character n-gram TF-IDF vectors (n = 1…``max_n``). No learning beyond counting."""

    def __init__(self, train_items, max_n: int = 3):
        from sklearn.feature_extraction.text import TfidfVectorizer

        if not train_items:
            raise CourseError("the retrieval baseline needs training sentences")
        self.sources = ["".join(src) for src, _ in train_items]
        self.targets = [detokenize_english(refs[0]) for _, refs in train_items]
        self.vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, max_n), sublinear_tf=True)
        self.matrix = self.vectorizer.fit_transform(self.sources)  # (N, features), rows L2-normalised

    def nearest(self, sources, batch_size: int = 512) -> np.ndarray:
        """Index of the most similar training source for each source string (ties → lowest index)."""
        out = []
        for start in range(0, len(sources), batch_size):
            query = self.vectorizer.transform(sources[start : start + batch_size])
            similarity = (query @ self.matrix.T).toarray()  # (batch, N) cosine similarities
            out.append(similarity.argmax(axis=1))
        return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)

    def translate(self, sources) -> list:
        sources = ["".join(s) if not isinstance(s, str) else s for s in sources]
        return [self.targets[i] for i in self.nearest(sources)]


def length_histogram(pairs) -> dict:
    """Summary of token lengths: {"zh": (median, p90, max), "en": (...)} for choosing a filter."""
    zh = np.array([len(s) for s, _ in pairs])
    en = np.array([len(t) for _, t in pairs])
    return {name: (float(np.median(v)), float(np.percentile(v, 90)), int(v.max())) for name, v in
            (("zh", zh), ("en", en))}


# --------------------------------------------------------------------------------------------
# The model recipe: data, training, saving, loading, evaluating
# --------------------------------------------------------------------------------------------
DEFAULT_CONFIG = {"max_len": 12, "min_freq": 2, "embed_size": 96, "hidden_size": 128, "attention": "additive",
                  "bidirectional": True, "dropout": 0.1, "split_seed": 0}
DEFAULT_TRAINING = {"epochs": 12, "batch_size": 64, "learning_rate": 3e-3, "clip_norm": 1.0, "seed": 0}
DECODE_MAX_LEN = 14  # targets have at most 12 words; allow a little more before cutting off


def prepare_data(max_len: int = 12, min_freq: int = 2, split_seed: int = 0) -> tuple:
    """(splits, src_vocab, tgt_vocab): the length-filtered corpus split 80/10/10 by Chinese source."""
    splits = split_by_source(load_pairs(max_len=max_len), seed=split_seed)
    src_vocab, tgt_vocab = build_vocabs(splits["train"], min_freq=min_freq)
    return splits, src_vocab, tgt_vocab


def make_model(src_vocab_size: int, tgt_vocab_size: int, config: dict):
    config = {**DEFAULT_CONFIG, **config}
    return seq2seq.Seq2Seq(src_vocab_size, tgt_vocab_size, embed_size=config["embed_size"],
                           hidden_size=config["hidden_size"], attention=config["attention"],
                           bidirectional=config["bidirectional"], dropout=config["dropout"])


MODEL_KIND = "translation"


def save_model(directory, model, src_vocab: Vocab, tgt_vocab: Vocab, config: dict, metrics: dict | None = None,
               readme: str | None = None) -> Path:
    """A model directory in the course's one format (:func:`rnn_course.checkpoints.save_model_dir`):
    float16 weights, both vocabularies, config and metrics, checksummed and swapped in atomically."""
    return checkpoints.save_model_dir(directory, MODEL_KIND, checkpoints.model_arrays(model, np.float16),
                                      {"src_vocab": src_vocab, "tgt_vocab": tgt_vocab}, config, metrics, readme)


SHIPPED_MODEL = Path(__file__).resolve().parent / "assets" / "translation"
BASELINE_MODEL = SHIPPED_MODEL.parent / "translation_no_attention"  # Cho-form baseline, same recipe and budget


def default_model_dir() -> Path:
    """The shipped translation model (``rnn_course/assets/translation``)."""
    return SHIPPED_MODEL


def load_model(directory=None):
    """(model in eval mode, src_vocab, tgt_vocab, config, metrics or {}) from a directory written by
    :func:`save_model` (default: the shipped model). Loading reads arrays and JSON only; every file is
    checked against the manifest and errors name the problem."""
    # finish a save a crash interrupted first: otherwise the parked old copy would look like no model at all
    directory = checkpoints.recover(directory if directory is not None else default_model_dir())
    if not directory.is_dir():
        raise CourseError(f"no translation model at {directory}; train one with `rnn-course translate train --out DIR`")
    arrays, vocab_paths, config, metrics = checkpoints.read_model_dir(directory, MODEL_KIND)
    if not isinstance(vocab_paths, dict) or set(vocab_paths) != {"src_vocab", "tgt_vocab"}:
        raise CourseError(f"{directory} does not hold the two vocabularies of a translation model")
    src_vocab = vocab_from_list(Vocab.load(vocab_paths["src_vocab"]).itos)
    tgt_vocab = vocab_from_list(Vocab.load(vocab_paths["tgt_vocab"]).itos)
    try:
        model = make_model(len(src_vocab), len(tgt_vocab), config)
    except (TypeError, ValueError, KeyError) as err:
        raise CourseError(f"translation model config in {directory} is not valid: {err}") from err
    checkpoints.set_model_arrays(model, arrays, directory)
    model.eval()
    return model, src_vocab, tgt_vocab, config, metrics


def translate_items(model, items, src_vocab, tgt_vocab, beam_size=1, alpha=0.0, max_len=DECODE_MAX_LEN) -> list:
    """Detokenised English for each item (a source token list, or ``(source, references)``)."""
    wrapped = [(item,) if items and isinstance(item, list) and (not item or isinstance(item[0], str)) else item
               for item in items]
    tokens = seq2seq.translate(model, wrapped, src_vocab, tgt_vocab, max_len=max_len, beam_size=beam_size, alpha=alpha)
    return [detokenize_english(t) for t in tokens]


def evaluate_bleu(model, items, src_vocab, tgt_vocab, beam_size=1, alpha=0.0) -> tuple:
    """(corpus BLEU on all references, hypotheses) for ``(source, references)`` items."""
    hyps = translate_items(model, items, src_vocab, tgt_vocab, beam_size=beam_size, alpha=alpha)
    return bleu(hyps, references_text(items)), hyps


def train_model(model, splits, src_vocab, tgt_vocab, *, epochs=12, batch_size=64, learning_rate=2e-3,
                clip_norm=1.0, seed=0, checkpoint_dir=None, max_steps=None, snapshot_dir=None, verbose=False):
    """Teacher-forced training with the masked loss; the epoch with the lowest validation loss is kept.
    ``checkpoint_dir``: resume an interrupted run exactly. ``snapshot_dir``: also keep every epoch's
    weights there (``epoch_<k>.npz``), to compare models at equal budgets afterwards."""
    batches = seq2seq.PairBatches(training_pairs(splits["train"]), src_vocab, tgt_vocab, batch_size=batch_size,
                                  shuffle=True, seed=seed)
    valid = seq2seq.PairBatches(training_pairs(splits["valid"]), src_vocab, tgt_vocab, batch_size=256)
    optimizer = train.make_optimizer(model, "adam", learning_rate, clip_norm=clip_norm)
    def evaluate(m, data):
        loss = train.evaluate_loss(m, data, seq2seq.masked_cross_entropy)
        if snapshot_dir is not None:
            epoch = len(list(Path(snapshot_dir).glob("epoch_*.npz"))) + 1
            np.savez(Path(snapshot_dir) / f"epoch_{epoch}.npz", **{k: v.numpy() for k, v in m.state_dict().items()})
        return {"valid_loss": loss}

    if snapshot_dir is not None:
        Path(snapshot_dir).mkdir(parents=True, exist_ok=True)
    return train.fit(model, batches, optimizer=optimizer, loss_fn=seq2seq.masked_cross_entropy, epochs=epochs,
                     valid_data=valid, evaluate_fn=evaluate, checkpoint_dir=checkpoint_dir,
                     resume=train.has_checkpoint(checkpoint_dir), max_steps=max_steps, verbose=verbose)


def choose_alpha(model, items, src_vocab, tgt_vocab, beam_size=4, grid=(0.0, 0.5, 1.0, 1.5)) -> tuple:
    """(best α, {α: validation BLEU}) for beam search with length normalisation 1/L^α."""
    scores = {alpha: evaluate_bleu(model, items, src_vocab, tgt_vocab, beam_size, alpha)[0] for alpha in grid}
    best = max(grid, key=lambda a: (round(scores[a], 6), -a))
    return best, scores


def train_and_save(out_dir, *, config=None, training=None, checkpoint_dir=None, snapshot_dir=None,
                   alpha_items=500, command=None, verbose=True) -> dict:
    """The recipe behind the shipped model: train, save (float16), reload the saved weights and record
    validation/test BLEU (greedy and beam 4 with α chosen on validation) and the retrieval baseline."""
    config = {**DEFAULT_CONFIG, **(config or {})}
    training = {**DEFAULT_TRAINING, **(training or {})}
    rnn_course.setup(training["seed"], font=False)
    splits, src_vocab, tgt_vocab = prepare_data(config["max_len"], config["min_freq"], config["split_seed"])
    model = make_model(len(src_vocab), len(tgt_vocab), config)
    wall, cpu = time.perf_counter(), time.process_time()
    history = train_model(model, splits, src_vocab, tgt_vocab, checkpoint_dir=checkpoint_dir, verbose=verbose,
                          snapshot_dir=snapshot_dir,
                          **{k: training[k] for k in ("epochs", "batch_size", "learning_rate", "clip_norm", "seed")})
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    save_model(out_dir, model, src_vocab, tgt_vocab, config)
    model, *_ = load_model(out_dir)
    valid_bleu, _ = evaluate_bleu(model, splits["valid"], src_vocab, tgt_vocab)
    alpha, alpha_scores = choose_alpha(model, splits["valid"][:alpha_items], src_vocab, tgt_vocab)
    test_greedy, _ = evaluate_bleu(model, splits["test"], src_vocab, tgt_vocab)
    test_beam, _ = evaluate_bleu(model, splits["test"], src_vocab, tgt_vocab, beam_size=4, alpha=alpha)
    retrieval = RetrievalTranslator(splits["train"])
    retrieval_bleu = bleu(retrieval.translate([s for s, _ in splits["test"]]), references_text(splits["test"]))
    metrics = {
        "test_sentences": len(splits["test"]),
        "test_bleu_greedy": round(test_greedy, 2),
        "test_bleu_beam4": round(test_beam, 2),
        "beam_alpha": alpha,
        "valid_bleu_greedy": round(valid_bleu, 2),
        "valid_bleu_beam4_by_alpha": {str(a): round(b, 2) for a, b in alpha_scores.items()},
        "alpha_valid_sentences": min(alpha_items, len(splits["valid"])),
        "retrieval_test_bleu": round(retrieval_bleu, 2),
        "parameters": sum(int(np.prod(p.shape)) for p in model.parameters()),
        "best_epoch": history.best_epoch,
        "epochs": [{k: round(v, 4) if isinstance(v, float) else v for k, v in r.items() if k != "seconds"}
                   for r in history.epochs],
        "train_wall_seconds": round(wall, 1),
        "train_cpu_seconds": round(cpu, 1),
        "training": training,
        "sizes": {name: len(items) for name, items in splits.items()},
        "vocab": {"zh": len(src_vocab), "en": len(tgt_vocab)},
    }
    if command:
        metrics["command"] = command  # how to make this model again (no machine paths)
    save_model(out_dir, model, src_vocab, tgt_vocab, config, metrics)
    return metrics
