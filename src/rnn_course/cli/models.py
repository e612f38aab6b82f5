"""``rnn-course convert-model`` — re-save an older model folder in the current pickle-free format
(:func:`rnn_course.checkpoints.convert_model_dir`)."""

from __future__ import annotations

from pathlib import Path

from rnn_course import checkpoints
from rnn_course.errors import CourseError

KINDS = ("sentiment", "language_model")


def register(sub) -> None:
    p = sub.add_parser("convert-model", help="re-save an older model folder without pickle (weights.npz + JSON)")
    p.add_argument("model", help="the model folder to convert in place")
    p.add_argument("--kind", choices=KINDS, default=None,
                   help="sentiment or language_model (default: sentiment if it has model.pdparams, "
                        "language_model if it has weights.npz)")
    p.add_argument("--trust-pickle", action="store_true",
                   help="required to read a pickle-based model.pdparams. RISK: unpickling runs any code the "
                        "file's author put in it; convert only folders you created yourself")
    p.set_defaults(func=run_convert_model)


def run_convert_model(args) -> int:
    folder = Path(args.model)
    kind = args.kind or guess_kind(folder)
    checkpoints.convert_model_dir(folder, kind, trust_pickle=args.trust_pickle)
    print(f"converted {folder} ({kind}) to weights.npz + JSON with a manifest")
    return 0


def guess_kind(folder: Path) -> str:
    if (folder / checkpoints.MANIFEST).is_file():
        return checkpoints.read_json(folder / checkpoints.MANIFEST, "model manifest").get("kind", "")
    if (folder / checkpoints.LEGACY_WEIGHTS).is_file():
        return "sentiment"
    if (folder / checkpoints.WEIGHTS).is_file():
        return "language_model"
    raise CourseError(f"{folder} holds no model to convert (no model.pdparams or weights.npz)")
