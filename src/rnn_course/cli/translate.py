"""``rnn-course translate`` — Chinese → English with the shipped Seq2Seq + attention model of
:mod:`rnn_course.translation`; ``translate evaluate`` scores it (and the retrieval baseline) on the test
split; ``translate train`` trains a new model with the shipped model's recipe."""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import rnn_course
from rnn_course import checkpoints
from rnn_course import translation as tr
from rnn_course.cli.device import add_device_option
from rnn_course.errors import CourseError

ACTIONS = ("evaluate", "train")


def register(sub) -> None:
    p = sub.add_parser(
        "translate", help="translate Chinese sentences into English (Seq2Seq + attention, Tatoeba)",
        description="rnn-course translate TEXT…  (or one sentence per line on stdin) prints one English "
                    "translation per input.  rnn-course translate evaluate [--model DIR] [--out FILE] prints "
                    "the test-split corpus BLEU of the model and of the retrieval baseline (--out: a TSV "
                    "source, hypothesis, references).  rnn-course translate train --out DIR trains a model "
                    "with the shipped recipe.")
    p.add_argument("text", nargs="*", metavar="TEXT", help="Chinese sentences (none: read lines from stdin); "
                   "or the action 'evaluate' / 'train'")
    p.add_argument("--beam", type=int, default=None,
                   help="beam size (default 4, with the length normalisation chosen on validation; 1 = greedy)")
    p.add_argument("--alpha", type=float, default=None,
                   help="length normalisation 1/L^alpha for beam search (default: the value chosen on validation)")
    p.add_argument("--model", default=None, help="model directory (default: the shipped model)")
    p.add_argument("--out", default=None, help="evaluate: write a TSV here; train: the new model's directory")
    p.add_argument("--epochs", type=int, default=None, help="train: number of epochs (default 10)")
    p.add_argument("--attention", choices=["additive", "dot", "none"], default=None,
                   help="train: attention variant (default additive)")
    p.add_argument("--seed", type=int, default=None, help="train: random seed (default 0)")
    p.add_argument("--checkpoint", default=None, help="train: directory for per-epoch checkpoints (resumable)")
    p.add_argument("--force", action="store_true", default=None,
                   help="train: replace the model already in --out; evaluate: replace the --out file")
    add_device_option(p)
    p.set_defaults(func=run_translate)


def _check_beam(args, default):
    beam = default if args.beam is None else args.beam
    if beam < 1 or beam > 64:
        raise CourseError(f"--beam must be between 1 and 64, got {beam}")
    if args.alpha is not None and not (args.alpha >= 0 and math.isfinite(args.alpha)):
        raise CourseError(f"--alpha must be a number ≥ 0, got {args.alpha}")
    return beam


def _refuse(args, names, action):
    for name in names:
        if getattr(args, name) is not None:
            raise CourseError(f"--{name} does not apply to `translate {action}`")


def run_translate(args) -> int:
    if args.text and args.text[0] in ACTIONS:
        return run_evaluate(args) if args.text[0] == "evaluate" else run_train(args)
    _refuse(args, ("out", "epochs", "attention", "seed", "checkpoint", "force"), "TEXT")
    beam = _check_beam(args, 4)
    if args.text:
        sentences = args.text
        if any(not s.strip() for s in sentences):
            raise CourseError("an empty sentence cannot be translated")
    else:
        if sys.stdin is None or sys.stdin.isatty():
            raise CourseError("give Chinese sentences as arguments or one per line on stdin")
        sentences = sys.stdin.read().splitlines()
        if not sentences:
            raise CourseError("stdin held no sentences")
    rnn_course.setup(0, font=False)
    model, src_vocab, tgt_vocab, _, metrics = tr.load_model(args.model)
    alpha = args.alpha if args.alpha is not None else float(metrics.get("beam_alpha", 0.0))
    sources = [tr.tokenize_chinese(s) for s in sentences]
    keep = [i for i, s in enumerate(sources) if s]
    outputs = [""] * len(sources)  # a blank input line gives a blank output line
    if keep:
        hyps = tr.translate_items(model, [(sources[i],) for i in keep], src_vocab, tgt_vocab, beam_size=beam,
                                  alpha=alpha)
        for i, h in zip(keep, hyps, strict=True):
            outputs[i] = h
    for line in outputs:
        print(line)
    return 0


def run_evaluate(args) -> int:
    if len(args.text) > 1:
        raise CourseError(f"`translate evaluate` takes no sentences, got {args.text[1]!r}")
    _refuse(args, ("epochs", "attention", "seed", "checkpoint"), "evaluate")
    beam = _check_beam(args, 4)  # the decoding the model ships with; --beam 1 = greedy
    out = Path(args.out) if args.out else None
    if out is not None and (out.is_dir() or not out.parent.is_dir()):
        raise CourseError(f"--out must be a file in an existing directory, got {args.out}")
    if out is not None and out.exists() and not args.force:
        raise CourseError(f"--out {args.out} already exists: add --force to replace it, or choose another name")
    rnn_course.setup(0, font=False)
    model, src_vocab, tgt_vocab, config, metrics = tr.load_model(args.model)
    alpha = args.alpha if args.alpha is not None else float(metrics.get("beam_alpha", 0.0))
    splits, _, _ = tr.prepare_data(config.get("max_len", 12), config.get("min_freq", 2),
                                   config.get("split_seed", 0))
    test = splits["test"]
    refs = tr.references_text(test)
    model_bleu, hyps = tr.evaluate_bleu(model, test, src_vocab, tgt_vocab, beam_size=beam, alpha=alpha)
    retrieval = tr.RetrievalTranslator(splits["train"])
    retrieval_bleu = tr.bleu(retrieval.translate([s for s, _ in test]), refs)
    search = "greedy" if beam == 1 else f"beam {beam}, alpha {alpha:g}"
    print(f"model BLEU {model_bleu:.2f} ({search}; {len(test)} test sentences, all references, sacrebleu 13a)")
    print(f"retrieval baseline BLEU {retrieval_bleu:.2f} (char 1-3-gram TF-IDF nearest training source)")
    if out is not None:
        lines = ["\t".join(["".join(src), hyp, *[r.replace("\t", " ") for r in ref]])
                 for (src, _), hyp, ref in zip(test, hyps, refs, strict=True)]
        try:  # written to a temporary sibling and renamed: an interrupted run leaves no half file
            checkpoints.atomic_write(out, lambda tmp: Path(tmp).write_text("\n".join(lines) + "\n", encoding="utf-8"))
        except OSError as err:
            raise CourseError(f"cannot write {out}: {err.strerror}") from err
        print(f"wrote {len(lines)} lines to {out}")
    return 0


def run_train(args) -> int:
    if len(args.text) > 1:
        raise CourseError(f"`translate train` takes no sentences, got {args.text[1]!r}")
    _refuse(args, ("beam", "alpha", "model"), "train")
    if not args.out:
        raise CourseError("`translate train` needs --out DIR")
    if args.epochs is not None and args.epochs < 1:
        raise CourseError(f"--epochs must be at least 1, got {args.epochs}")
    checkpoints.check_output_dir(args.out, tr.MODEL_KIND, force=bool(args.force))
    config = {"attention": args.attention or "additive"}
    training = {"epochs": args.epochs or tr.DEFAULT_TRAINING["epochs"], "seed": args.seed or 0}
    started = time.perf_counter()
    command = "rnn-course translate train --out DIR" + "".join(
        f" --{name} {getattr(args, name)}" for name in ("epochs", "attention", "seed") if getattr(args, name) is not None)
    metrics = tr.train_and_save(args.out, config=config, training=training, checkpoint_dir=args.checkpoint,
                                command=command)
    print(f"test BLEU {metrics['test_bleu_greedy']:.2f} greedy, {metrics['test_bleu_beam4']:.2f} beam 4 "
          f"(alpha {metrics['beam_alpha']:g}); retrieval baseline {metrics['retrieval_test_bleu']:.2f}; "
          f"training CPU {metrics['train_cpu_seconds']:.0f} s, total wall {time.perf_counter() - started:.0f} s")
    return 0
