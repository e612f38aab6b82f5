"""``rnn-course generate [train]`` — sample reviews from (or train) the character language model of
:mod:`rnn_course.language_model` with the samplers of :mod:`rnn_course.generate`."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

import rnn_course
from rnn_course import checkpoints
from rnn_course.cli import options
from rnn_course.cli.device import add_device_option
from rnn_course.errors import CourseError
from rnn_course.generate import check_temperature, check_top_k, generate_texts
from rnn_course.language_model import (
    MODEL_KIND,
    load_interpolated_trigram,
    load_language_model,
    train_and_save,
)


def register(sub) -> None:
    p = sub.add_parser("generate", help="write reviews with the pretrained character language model",
                       description="Sample reviews from a character language model (GRU or LSTM). "
                                   "`rnn-course generate train --out DIR` trains a new one.")
    p.add_argument("--prompt", default="", help="text to continue (default: start from scratch)")
    p.add_argument("--label", choices=["pos", "neg"], default=None,
                   help="requested sentiment (default: drawn from the training label frequencies)")
    p.add_argument("--temperature", type=float, default=0.8, help="0 = greedy; higher = more random (default 0.8)")
    p.add_argument("--top-k", type=int, default=None, help="sample only among the k most likely characters")
    p.add_argument("--n", type=int, default=3, help="number of samples (default 3)")
    p.add_argument("--max-chars", type=int, default=120, help="maximum new characters per sample")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--model", default=None, help="model directory (default: the shipped model)")
    p.add_argument("--interpolate", action="store_true",
                   help="sample from the model interpolated with the trigram, with the weight its metrics.json "
                        "records (chapter 07; the trigram is rebuilt from the corpus in a few seconds)")
    add_device_option(p)
    p.set_defaults(func=run_generate)
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    t = actions.add_parser("train", help="train a language model on the review corpus and save it")
    t.add_argument("--out", required=True, help="output directory (an existing model there is never replaced "
                                                "without --force)")
    t.add_argument("--force", action="store_true", help="replace the language model already in --out")
    # --cell/--hidden-size/--embed-size: the names `sentiment train` uses
    t.add_argument("--cell", choices=["gru", "lstm", "rnn"], default="gru")
    t.add_argument("--hidden-size", type=int, default=256)
    t.add_argument("--embed-size", type=int, default=64)
    t.add_argument("--num-layers", type=int, default=1, help="stacked recurrent layers (default 1)")
    t.add_argument("--dropout", type=float, default=0.0, help="dropout between layers and before the output "
                                                              "layer, in [0, 1) (default 0)")
    t.add_argument("--epochs", type=int, default=3)
    t.add_argument("--batch-size", type=int, default=32)
    t.add_argument("--lr", type=float, default=5e-3)
    t.add_argument("--lr-decay", type=float, default=1.0,
                   help="multiply the learning rate by this after every epoch, in (0, 1] (default 1: constant)")
    t.add_argument("--resume", action="store_true",
                   help="continue the interrupted run in --out (a checkpoint is written after every epoch)")
    t.add_argument("--clip", type=float, default=1.0)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--init", default=None, help="continue training a saved model (same vocabulary and size)")
    add_device_option(t)
    t.set_defaults(func=run_train)


def run_generate(args) -> int:
    temperature = check_temperature(args.temperature)
    top_k = check_top_k(args.top_k)
    if args.n < 1 or args.n > 1000:
        raise CourseError(f"--n must be between 1 and 1000, got {args.n}")
    if args.max_chars < 1:
        raise CourseError(f"--max-chars must be at least 1, got {args.max_chars}")
    options.seed(args.seed)
    rnn_course.setup(args.seed, font=False)
    model, vocab, config, metrics = load_language_model(args.model)
    ngram, rnn_weight = load_interpolated_trigram(vocab, config, metrics) if args.interpolate else (None, 1.0)
    rng = np.random.default_rng(args.seed)
    if args.label is None:
        share = metrics.get("train_positive_share", 0.5)
        labels = ["pos" if u < share else "neg" for u in rng.random(args.n)]
    else:
        labels = [args.label] * args.n
    for label in ("pos", "neg"):
        count = labels.count(label)
        if count:
            texts = generate_texts(model, vocab, prompt=args.prompt, label=label, n=count, max_new=args.max_chars,
                                   temperature=temperature, top_k=top_k, seed=args.seed + (label == "neg"),
                                   ngram=ngram, rnn_weight=rnn_weight)
            for text in texts:
                print(f"[{label}] {text}")
    return 0


def _command_line(args) -> str:
    """The command that reproduces this run (the output folder by name only: no machine paths)."""
    parts = ["rnn-course generate train", f"--cell {args.cell}"]
    for name in ("hidden_size", "embed_size", "num_layers", "dropout", "epochs", "batch_size", "lr", "lr_decay",
                 "clip", "seed"):
        parts.append(f"--{name.replace('_', '-')} {getattr(args, name)}")
    parts += [f"--init {Path(args.init).name}"] if args.init else []
    return " ".join(parts) + f" --out {Path(args.out).name}"


def run_train(args) -> int:
    for name, option in (("hidden_size", "--hidden-size"), ("embed_size", "--embed-size"), ("num_layers", "--num-layers"),
                         ("epochs", "--epochs"), ("batch_size", "--batch-size")):
        options.whole(getattr(args, name), option)
    options.learning_rate(args.lr)
    options.number(args.clip, "--clip", 0.0, 1e6, low_open=True)
    options.number(args.dropout, "--dropout", 0.0, 1.0, high_open=True)
    options.number(args.lr_decay, "--lr-decay", 0.0, 1.0, low_open=True)
    options.seed(args.seed)
    same_folder = args.init is not None and checkpoints.recover(args.init).resolve() == \
        checkpoints.recover(args.out).resolve()  # --init X --out X continues a model in place
    out = options.training_folder(args.out, MODEL_KIND, force=args.force, resume=args.resume,
                                  replace_model=same_folder)
    checkpoint = out / checkpoints.CHECKPOINT_DIR
    if args.force and not args.resume:
        shutil.rmtree(checkpoint, ignore_errors=True)
    rnn_course.setup(args.seed, font=False)
    metrics = train_and_save(out, cell_type=args.cell, hidden_size=args.hidden_size,
                             embed_size=args.embed_size, num_layers=args.num_layers, dropout=args.dropout,
                             epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.lr,
                             lr_decay=args.lr_decay, clip_norm=args.clip, seed=args.seed, init_dir=args.init,
                             checkpoint_dir=checkpoint, resume=args.resume, command=_command_line(args))
    print(f"validation perplexity {metrics['valid_perplexity']:.2f} (best epoch {metrics['best_epoch']}), "
          f"test perplexity {metrics['test_perplexity']:.2f}; "
          f"training CPU {metrics['train_cpu_seconds']:.0f} s, wall {metrics['train_wall_seconds']:.0f} s")
    return 0
