"""``rnn-course sentiment train | evaluate | predict | export`` — the sentiment pipeline of
:mod:`rnn_course.sentiment` on the command line. Every problem with the user's input raises a
:class:`~rnn_course.errors.CourseError` (one line on stderr, exit code 2), checked before training."""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import numpy as np
import paddle

import rnn_course
from rnn_course import checkpoints
from rnn_course.cli import options
from rnn_course.cli.device import add_device_option
from rnn_course.data import pad_batch, read_labelled_tsv
from rnn_course.errors import CourseError
from rnn_course.sentiment import (
    LABEL_NAMES,
    MODEL_KIND,
    SentimentConfig,
    SentimentPredictor,
    encode,
    evaluate_model,
    export_model,
    load_data,
    load_exported,
    make_batches,
    save_model_dir,
    tfidf_baseline,
    train_model,
)

TRUST_PICKLE_HELP = ("also load an older model folder that only has a pickle-based model.pdparams. RISK: "
                     "unpickling runs any code the file's author put in it; use only for files you made")
# Options that define a run: resuming with any of them changed would silently train something else
# (--epochs and --patience may change: they only say how long to go on).
RUN_OPTIONS = ("cell", "bidirectional", "tokenizer", "embed_size", "hidden_size", "num_layers", "dropout", "pooling",
               "max_len", "max_vocab", "embed_init", "data", "batch_size", "lr", "weight_decay", "seed")


def register(sub) -> None:
    parser = sub.add_parser("sentiment", help="train, evaluate, use and export a sentiment classifier")
    commands = parser.add_subparsers(dest="sentiment_command", metavar="ACTION")
    commands.required = True

    t = commands.add_parser("train", help="train a (Bi)LSTM/GRU/RNN classifier and save a model directory")
    t.add_argument("--cell", default="lstm", help="rnn, lstm or gru (default lstm)")
    t.add_argument("--bidirectional", action="store_true", help="read the text in both directions")
    t.add_argument("--tokenizer", default="char", help="char, word (jieba) or char+word (jieba words; a word outside "
                   "the vocabulary becomes its characters); default char")
    t.add_argument("--embed-size", type=int, default=64)
    t.add_argument("--hidden-size", type=int, default=64)
    t.add_argument("--num-layers", type=int, default=1)
    t.add_argument("--dropout", type=float, default=0.3, help="in [0, 1); default 0.3")
    t.add_argument("--pooling", default="last", help="last, mean or max over the time steps")
    t.add_argument("--max-len", type=int, default=128, help="tokens kept from the start of each text")
    t.add_argument("--max-vocab", type=int, default=5000)
    t.add_argument("--embed-init", default="xavier", help="xavier (Paddle's default, tiny rows for a large "
                                                          "vocabulary) or normal (N(0, 1) rows); default xavier")
    t.add_argument("--data", help="your own UTF-8 file of 'label<TAB>text' lines (labels 0/1); "
                                  "default: the bundled review corpus")
    t.add_argument("--epochs", type=int, default=3)
    t.add_argument("--batch-size", type=int, default=64)
    t.add_argument("--lr", type=float, default=2e-3)
    t.add_argument("--weight-decay", type=float, default=0.0, help="L2 penalty on every weight (Adam); default 0")
    t.add_argument("--patience", type=int, default=2, help="stop after this many epochs without a better "
                                                           "validation accuracy")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--out", default="sentiment-model", help="model directory to write (default ./sentiment-model); "
                                                            "an existing model there is never replaced without --force")
    t.add_argument("--force", action="store_true", help="replace the model (or interrupted run) already in --out")
    t.add_argument("--resume", action="store_true", help="continue the interrupted run in --out (same options)")
    t.add_argument("--quiet", action="store_true", help="no progress bar or per-epoch lines")
    add_device_option(t)
    t.set_defaults(func=run_train)

    e = commands.add_parser("evaluate", help="accuracy, precision, recall, F1 of a model directory")
    e.add_argument("--model", help="model directory (default: the checkpoint shipped with the course)")
    e.add_argument("--data", help="score every line of this 'label<TAB>text' file instead of the test split")
    e.add_argument("--baseline", action="store_true", help="also fit the TF-IDF char 1-3-gram baseline")
    e.add_argument("--trust-pickle", action="store_true", help=TRUST_PICKLE_HELP)
    add_device_option(e)
    e.set_defaults(func=run_evaluate)

    p = commands.add_parser("predict", help="classify texts given as arguments or as lines on stdin")
    p.add_argument("--model", help="model directory (default: the checkpoint shipped with the course)")
    p.add_argument("--trust-pickle", action="store_true", help=TRUST_PICKLE_HELP)
    p.add_argument("texts", nargs="*", metavar="TEXT")
    add_device_option(p)
    p.set_defaults(func=run_predict)

    x = commands.add_parser("export", help="paddle.jit.save a model for paddle.inference deployment")
    x.add_argument("--model", help="model directory (default: the checkpoint shipped with the course)")
    x.add_argument("--out", default="sentiment-export/model",
                   help="path prefix (writes PREFIX.json, PREFIX.pdiparams, PREFIX.contract)")
    x.add_argument("--trust-pickle", action="store_true", help=TRUST_PICKLE_HELP)
    x.set_defaults(func=run_export)


def _command_line(args) -> str:
    """The command that reproduces this run (the output folder by name only: no machine paths)."""
    parts = ["rnn-course sentiment train", f"--cell {args.cell}"]
    parts += ["--bidirectional"] if args.bidirectional else []
    for name in ("tokenizer", "embed_size", "hidden_size", "num_layers", "dropout", "pooling", "max_len",
                 "max_vocab", "embed_init", "epochs", "batch_size", "lr", "weight_decay", "patience", "seed"):
        parts.append(f"--{name.replace('_', '-')} {getattr(args, name)}")
    parts += [f"--data {Path(args.data).name}"] if args.data else []
    return " ".join(parts) + f" --out {Path(args.out).name}"


def check_train_options(args) -> SentimentConfig:
    for name in ("epochs", "batch_size", "patience"):
        options.whole(getattr(args, name), f"--{name.replace('_', '-')}")
    options.seed(args.seed)
    options.learning_rate(args.lr)
    options.number(args.weight_decay, "--weight-decay", 0.0, 1.0)
    options.number(args.dropout, "--dropout", 0.0, 1.0, high_open=True)
    return SentimentConfig(tokenizer=args.tokenizer, cell_type=args.cell, bidirectional=args.bidirectional,
                           embed_size=args.embed_size, hidden_size=args.hidden_size, num_layers=args.num_layers,
                           dropout=args.dropout, pooling=args.pooling, max_len=args.max_len, max_vocab=args.max_vocab,
                           embed_init=args.embed_init)


def check_out_folder(args) -> Path:
    """Where the model goes, checked before any training; nothing a user saved is replaced silently."""
    return options.training_folder(args.out, MODEL_KIND, force=args.force, resume=args.resume)


def run_train(args) -> int:
    config = check_train_options(args)
    out = check_out_folder(args)
    rnn_course.setup(args.seed, font=False)
    splits = load_data(args.data, args.seed)
    quiet = args.quiet
    if not quiet:
        print(f"train {len(splits['train'])} · valid {len(splits['valid'])} · test {len(splits['test'])} texts; "
              f"{config.cell_type}{' bidirectional' if config.bidirectional else ''} on {config.tokenizer} tokens")
    checkpoint = out / checkpoints.CHECKPOINT_DIR
    if args.force and not args.resume:
        shutil.rmtree(checkpoint, ignore_errors=True)
    run_config = {name: getattr(args, name) for name in RUN_OPTIONS}
    start = time.perf_counter()
    model, vocab, history = train_model(splits, config, epochs=args.epochs, batch_size=args.batch_size,
                                        learning_rate=args.lr, weight_decay=args.weight_decay,
                                        patience=args.patience, checkpoint_dir=checkpoint,
                                        resume=args.resume, run_config=run_config, verbose=not quiet,
                                        progress=not quiet and sys.stderr.isatty())
    seconds = time.perf_counter() - start
    test = evaluate_model(model, make_batches(splits["test"], vocab, config, 256))
    metrics = {"test": {k: round(v, 4) for k, v in test.items()},
               "valid_accuracy": round(history.best_value, 4), "best_epoch": history.best_epoch,
               "epochs_run": len(history.epochs), "train_seconds": round(seconds, 1),
               "data": Path(args.data).name if args.data else "bundled review corpus "
                                                              "(rnn_course.data.load_review_splits, seed 0)",
               "command": _command_line(args)}
    save_model_dir(out, model, vocab, config, metrics)  # swaps the whole folder in: the checkpoint goes with it
    print(f"test accuracy {test['accuracy']:.4f} · precision {test['precision']:.4f} · recall {test['recall']:.4f}"
          f" · F1 {test['f1']:.4f} (best epoch {history.best_epoch}, {seconds:.0f} s)")
    print(f"saved to {out}/ — try: rnn-course sentiment predict --model {out} \"房间很干净，服务也好\"")
    return 0


def run_evaluate(args) -> int:
    rnn_course.setup(0, font=False)
    if args.baseline and args.data:
        raise CourseError("--baseline needs the bundled corpus (it is fitted on its train split)")
    predictor = SentimentPredictor.load(args.model, trust_pickle=args.trust_pickle)
    if args.data:
        reviews, where = read_labelled_tsv(args.data), args.data
    else:
        splits = load_data(None)
        reviews, where = splits["test"], "test split of the bundled corpus"
    scores = predictor.evaluate(reviews)
    print(f"{where}: {len(reviews)} texts")
    print("model    " + " · ".join(f"{k} {v:.4f}" for k, v in scores.items()))
    if args.baseline:
        _, base = tfidf_baseline(splits)
        print("baseline " + " · ".join(f"{k} {base[k]:.4f}" for k in ("accuracy", "precision", "recall", "f1"))
              + "  (TF-IDF char 1-3-gram + logistic regression)")
    return 0


def read_stdin_lines() -> list:
    """Non-empty lines of stdin, decoded as UTF-8 whatever the locale says (a BOM is dropped)."""
    if sys.stdin is None or sys.stdin.isatty():
        raise CourseError("give texts to classify as arguments or as lines on stdin")
    raw = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode("utf-8")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise CourseError(f"stdin is not UTF-8 text (byte {err.start}): save or pipe it as UTF-8") from err
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        raise CourseError("stdin held no text to classify")
    return lines


def run_predict(args) -> int:
    rnn_course.setup(0, font=False)
    texts = [t.lstrip("\ufeff") for t in args.texts] or read_stdin_lines()
    for i, text in enumerate(texts, start=1):
        if not text.strip():
            raise CourseError(f"text {i} is empty: give at least one character to classify")
    predictor = SentimentPredictor.load(args.model, trust_pickle=args.trust_pickle)
    for text, (label, prob) in zip(texts, predictor.predict(texts), strict=True):
        print(f"{LABEL_NAMES[label]}\t{prob:.3f}\t{text}")
    return 0


def run_export(args) -> int:
    rnn_course.setup(0, font=False)
    predictor = SentimentPredictor.load(args.model, trust_pickle=args.trust_pickle)
    files = export_model(predictor.model, args.out)
    ids, lengths = pad_batch(encode(["房间很干净，服务也好", "太差了，再也不来"], predictor.vocab, predictor.config))
    eager = predictor.model(paddle.to_tensor(ids), paddle.to_tensor(lengths)).numpy()
    loaded = load_exported(args.out)(paddle.to_tensor(ids), paddle.to_tensor(lengths)).numpy()
    diff = float(np.abs(eager - loaded).max())
    for path in files:
        print(f"wrote {path}")
    print(f"paddle.jit.load matches the eager model: max |difference| {diff:.1e}")
    return 0
