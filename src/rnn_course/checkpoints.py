"""Saving and loading without pickle: atomic files and folders, model directories, training checkpoints.
Tensors go to NumPy ``.npz`` (read with ``allow_pickle=False``), everything else to strict JSON.

A **model directory** (every model the course ships or trains) holds ``weights.npz``, ``vocab.json``
(a translation model: ``src_vocab.json`` and ``tgt_vocab.json``),
``config.json``, optionally ``metrics.json``, and ``manifest.json`` — the model kind and the SHA-256 of
the other files, so a swapped vocabulary or edited config is refused instead of scoring garbage.
A directory is written completely into a temporary sibling and swapped in by renaming, so a crash
leaves either the old model or the new one, never a mix (:func:`save_model_dir`).

A **training checkpoint** is a directory of the same kind: weights, optimizer state, the best epoch's
weights, and ``state.json`` (epoch, history, RNG states, the run configuration).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import paddle

from rnn_course.data import Vocab
from rnn_course.errors import CourseError

FORMAT_VERSION = 2  # 1 = the pickle-based model.pdparams folders of earlier course versions
MANIFEST, WEIGHTS, VOCAB, CONFIG, METRICS = "manifest.json", "weights.npz", "vocab.json", "config.json", "metrics.json"
LEGACY_WEIGHTS = "model.pdparams"
MODEL_FILES = {MANIFEST, WEIGHTS, VOCAB, CONFIG, METRICS, LEGACY_WEIGHTS, "README.md"}
PICKLE_RISK = ("model.pdparams is a pickle file: loading it can run any code its author put in it — "
               "load only files you created yourself")


# --------------------------------------------------------------------------------------------
# Atomic files and strict JSON
# --------------------------------------------------------------------------------------------
def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def atomic_write(path, write) -> None:
    """Call ``write(tmp_path)`` on a temporary file next to ``path``, then rename it onto ``path``:
    readers see the old file or the new one, never half of one."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def json_text(data, what: str) -> str:
    """Strict JSON (no NaN/Infinity, which most JSON readers reject); a non-finite number is an error."""
    try:
        return json.dumps(data, ensure_ascii=False, indent=2, allow_nan=False) + "\n"
    except ValueError as err:
        raise CourseError(f"{what} holds a non-finite number (NaN or infinity); nothing was saved") from err


def write_json(path, data, what: str = "data") -> None:
    text = json_text(data, what)
    atomic_write(path, lambda p: Path(p).write_text(text, encoding="utf-8"))


def read_json(path, what: str, expect=dict):
    """Parse ``path``; a missing file, a folder, bad UTF-8/JSON or the wrong top-level type is one
    :class:`CourseError` naming ``what``."""
    path = Path(path)
    if not path.is_file():
        raise CourseError(f"{what} not found or not a file: {path}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"), parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError) as err:
        raise CourseError(f"{what} is corrupt (not valid JSON): {path}") from err
    if not isinstance(data, expect):
        raise CourseError(f"{what} is corrupt (expected a JSON {expect.__name__}): {path}")
    return data


def _reject_constant(name):
    raise ValueError(f"{name} is not valid JSON")


def sha256(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# --------------------------------------------------------------------------------------------
# Tensors as .npz
# --------------------------------------------------------------------------------------------
def _aliases(model) -> dict:
    """{alias name: stored name} for state-dict entries that are the same tensor under two names.

    Paddle's fused ``nn.GRU``/``nn.LSTM`` list every weight twice (``rnn.weight_ih_l0`` and
    ``rnn.0.cell.weight_ih``); storing both would add about a quarter to a model folder."""
    first, aliases = {}, {}
    for name, tensor in model.state_dict().items():
        key = id(tensor)
        if key in first:
            aliases[name] = first[key]
        else:
            first[key] = name
    return aliases


def model_arrays(model, dtype=None) -> dict:
    """``model``'s state dict as NumPy arrays, each tensor once (optionally cast, e.g. to float16 to
    halve the size). :func:`set_model_arrays` restores the aliases."""
    aliases = _aliases(model)
    return {name: (t.numpy() if dtype is None else t.numpy().astype(dtype))
            for name, t in model.state_dict().items() if name not in aliases}


def save_arrays(path, arrays: dict, compress: bool = True) -> None:
    save = np.savez_compressed if compress else np.savez

    def write(tmp):
        with open(tmp, "wb") as handle:  # a file object: np.savez would append ".npz" to a name
            save(handle, **arrays)

    atomic_write(path, write)


def load_arrays(path, what: str = "weights") -> dict:
    """Arrays of an ``.npz`` file, read with ``allow_pickle=False`` (an object array is refused)."""
    path = Path(path)
    if not path.is_file():
        raise CourseError(f"{what} not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            return {name: data[name] for name in data.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError, KeyError) as err:
        raise CourseError(f"{what} file is corrupt or not a NumPy .npz file: {path}") from err


def set_model_arrays(model, arrays: dict, where) -> None:
    """Load ``arrays`` into ``model`` after checking every name and shape (cast to the model's dtypes)."""
    own = model.state_dict()
    arrays = dict(arrays)
    for alias, name in _aliases(model).items():  # files written before aliases were dropped hold both
        if alias not in arrays and name in arrays:
            arrays[alias] = arrays[name]
    for name, tensor in own.items():
        if name not in arrays:
            raise CourseError(f"the weights in {where} do not fit this model (missing {name!r})")
        if list(arrays[name].shape) != list(tensor.shape):
            raise CourseError(f"the weights in {where} do not fit this model ({name}: "
                              f"{list(arrays[name].shape)} vs {list(tensor.shape)})")
        if arrays[name].dtype.kind == "f" and not np.all(np.isfinite(arrays[name])):
            raise CourseError(f"the weights in {where} hold NaN or infinity ({name})")
    model.set_state_dict({name: paddle.to_tensor(arrays[name].astype(tensor.numpy().dtype)) for name, tensor in own.items()})


# --------------------------------------------------------------------------------------------
# Output folders: refuse anything that would lose a user's files
# --------------------------------------------------------------------------------------------
def model_kind(directory):
    """The kind of model ``directory`` holds (``"sentiment"``, ``"language_model"``, …), ``"legacy"``
    for an older course folder, or ``None`` if it holds no course model."""
    directory = Path(directory)
    if (directory / MANIFEST).is_file():
        try:
            return str(read_json(directory / MANIFEST, "model manifest").get("kind", "unknown"))
        except CourseError:
            return "unknown"
    if any((directory / n).exists() for n in (LEGACY_WEIGHTS, WEIGHTS, CONFIG)):
        return "legacy"
    return None


def check_output_dir(path, kind: str, *, force: bool = False, resume: bool = False, flag: str = "--out") -> Path:
    """Check, *before any training*, that a model of ``kind`` may be saved at ``path``.

    Refused: an empty or root-like path; a file; a folder holding files that are not a course model
    (they would be lost); a folder holding another kind of model; a folder holding a model of this
    kind unless ``force`` or ``resume``; a parent folder that cannot be written. Nothing is created.
    """
    text = str(path).strip()
    if not text:
        raise CourseError(f"{flag} is empty: give the name of a folder for the model")
    directory = Path(text).expanduser()
    resolved = directory.resolve()
    if resolved == Path(resolved.anchor) or resolved in (Path.home().resolve(), Path.cwd().resolve()):
        raise CourseError(f"{flag} {text} is the root, home or current folder: give a folder of its own")
    if directory.exists() and not directory.is_dir():
        raise CourseError(f"{flag} {text} is a file, not a folder")
    if directory.is_dir():
        names = {p.name for p in directory.iterdir()} - {CHECKPOINT_DIR}
        found = model_kind(directory)
        if found is None and names:
            raise CourseError(f"{flag} {text} is not empty and holds no course model: choose a new or empty "
                              "folder (its files would be replaced)")
        if found is not None and found not in (kind, "legacy"):
            raise CourseError(f"{flag} {text} holds a {found} model, not a {kind} model: choose another folder")
        if found is not None and not (force or resume):
            raise CourseError(f"{flag} {text} already holds a model: add --force to replace it, or choose "
                              "another folder")
    parent = directory.parent
    existing = next((p for p in (parent, *parent.parents) if p.exists()), Path("."))
    if not existing.is_dir():
        raise CourseError(f"cannot write to {flag} {text}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK) or (directory.is_dir() and not os.access(directory, os.W_OK)):
        raise CourseError(f"cannot write to {flag} {text}: permission denied")
    return directory


# --------------------------------------------------------------------------------------------
# Whole directories: write a temporary sibling, swap it in with renames
# --------------------------------------------------------------------------------------------
def _previous(directory: Path) -> Path:
    return directory.parent / f".{directory.name}.previous"


def recover(directory) -> Path:
    """Finish a swap a crash interrupted: if ``directory`` is gone but its previous version is
    still parked next to it, put that back. Returns ``directory``."""
    directory = Path(directory)
    previous = _previous(directory)
    if not directory.exists() and previous.is_dir():
        os.replace(previous, directory)
    return directory


def write_dir_atomically(directory, fill) -> Path:
    """Create ``directory`` with ``fill(tmp_dir)`` so that it appears complete or not at all.

    The files are written into a temporary sibling; an existing ``directory`` is parked as
    ``.<name>.previous``, the new one renamed into place, then the old one removed. A crash at
    any point leaves the old directory (or its parked copy, which :func:`recover` restores).
    """
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    recover(directory)
    tmp = Path(tempfile.mkdtemp(dir=directory.parent, prefix=f".{directory.name}.saving-"))
    try:
        fill(tmp)
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp creates 0700; give the usual permissions
        previous = _previous(directory)
        if previous.exists():
            shutil.rmtree(previous)
        if directory.exists():
            os.replace(directory, previous)
        os.replace(tmp, directory)
        shutil.rmtree(previous, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        recover(directory)
        raise
    return directory


# --------------------------------------------------------------------------------------------
# Model directories
# --------------------------------------------------------------------------------------------
def _vocab_files(vocab) -> dict:
    """File name → Vocab: ``vocab.json`` for one vocabulary, ``<name>.json`` for each of a mapping
    (a translation model has ``src_vocab`` and ``tgt_vocab``)."""
    if isinstance(vocab, Vocab):
        return {VOCAB: vocab}
    return {f"{name}.json": v for name, v in vocab.items()}


def save_model_dir(directory, kind: str, arrays: dict, vocab, config: dict, metrics: dict | None = None,
                   readme: str | None = None) -> Path:
    """Write a complete model directory atomically (see the module docstring). ``vocab`` is one
    :class:`Vocab` or a mapping name → Vocab; every vocabulary file is checksummed in the manifest."""
    config_text = json_text(config, "the model configuration")
    metrics_text = json_text(metrics, "the metrics") if metrics is not None else None
    vocabs = _vocab_files(vocab)

    def fill(tmp: Path) -> None:
        save_arrays(tmp / WEIGHTS, arrays)
        for name, v in vocabs.items():
            v.save(tmp / name)
        (tmp / CONFIG).write_text(config_text, encoding="utf-8")
        if metrics_text is not None:
            (tmp / METRICS).write_text(metrics_text, encoding="utf-8")
        if readme is not None:
            (tmp / "README.md").write_text(readme, encoding="utf-8")
        manifest = {"kind": kind, "format_version": FORMAT_VERSION,
                    "sha256": {name: sha256(tmp / name) for name in (WEIGHTS, *vocabs, CONFIG)}}
        if not isinstance(vocab, Vocab):
            manifest["vocabularies"] = list(vocab)
        (tmp / MANIFEST).write_text(json_text(manifest, "the manifest"), encoding="utf-8")

    return write_dir_atomically(directory, fill)


def read_model_dir(directory, kind: str, *, trust_pickle: bool = False) -> tuple:
    """``(arrays, vocab path, config dict, metrics dict)`` of a model directory of ``kind``, every file
    checked; the vocabulary entry is a dict name → path when the model was saved with several. An older
    folder with only a pickle-based ``model.pdparams`` is refused unless ``trust_pickle`` (see
    :data:`PICKLE_RISK`)."""
    directory = recover(directory)
    if not directory.is_dir():
        raise CourseError(f"model directory not found: {directory}")
    if not (directory / MANIFEST).is_file():
        return _read_legacy_dir(directory, kind, trust_pickle)
    manifest = read_json(directory / MANIFEST, "model manifest")
    if manifest.get("kind") != kind:
        raise CourseError(f"{directory} holds a {manifest.get('kind')} model, not a {kind} model")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise CourseError(f"{directory} was saved in model format {manifest.get('format_version')!r}; "
                          f"this course version reads format {FORMAT_VERSION}")
    names = manifest.get("vocabularies")
    if names is not None and not (isinstance(names, list) and names
                                  and all(isinstance(n, str) and n.isidentifier() for n in names)):
        raise CourseError(f"{directory / MANIFEST} is corrupt (bad list of vocabularies)")
    vocab_files = [VOCAB] if names is None else [f"{n}.json" for n in names]
    sums = manifest.get("sha256")
    for name in (WEIGHTS, *vocab_files, CONFIG):
        path = directory / name
        if not path.is_file():
            raise CourseError(f"{directory} is incomplete: {name} is missing or not a file")
        if not isinstance(sums, dict) or sums.get(name) != sha256(path):
            raise CourseError(f"{path} was changed after the model was saved (checksum mismatch): "
                              "it no longer belongs to these weights")
    config = read_json(directory / CONFIG, "model configuration")
    metrics = read_json(directory / METRICS, "metrics file") if (directory / METRICS).exists() else {}
    vocab = directory / VOCAB if names is None else {n: directory / f"{n}.json" for n in names}
    return load_arrays(directory / WEIGHTS), vocab, config, metrics


def _read_legacy_dir(directory: Path, kind: str, trust_pickle: bool) -> tuple:
    for name in (CONFIG, VOCAB):
        if not (directory / name).is_file():
            raise CourseError(f"{directory} is not a {kind} model directory (no {name})")
    if (directory / WEIGHTS).is_file():  # the first language-model format: .npz, no manifest, no pickle
        arrays = load_arrays(directory / WEIGHTS)
    elif (directory / LEGACY_WEIGHTS).is_file():
        if not trust_pickle:
            raise CourseError(f"{directory} holds only a pickle-based {LEGACY_WEIGHTS}, which is never loaded "
                              "by default; re-save it with `rnn-course convert-model --trust-pickle "
                              f"{directory}` if you created it yourself")
        try:
            arrays = {k: np.asarray(v.numpy() if hasattr(v, "numpy") else v)
                      for k, v in paddle.load(str(directory / LEGACY_WEIGHTS)).items()}
        except Exception as err:  # paddle raises several types for a damaged file
            raise CourseError(f"{directory / LEGACY_WEIGHTS} is corrupt or not a Paddle checkpoint") from err
    else:
        raise CourseError(f"no model weights in {directory} ({WEIGHTS} is missing)")
    config = read_json(directory / CONFIG, "model configuration")
    metrics = read_json(directory / METRICS, "metrics file") if (directory / METRICS).exists() else {}
    return arrays, directory / VOCAB, config, metrics


def convert_model_dir(directory, kind: str, *, trust_pickle: bool = False) -> Path:
    """Re-save an older model directory (pickle ``model.pdparams`` or an ``.npz`` without manifest) in
    the current format, in place and atomically; weights keep their dtype, so predictions are identical."""
    directory = Path(directory)
    arrays, vocab_path, config, metrics = read_model_dir(directory, kind, trust_pickle=trust_pickle)
    readme = (directory / "README.md").read_text(encoding="utf-8") if (directory / "README.md").is_file() else None
    vocab = ({name: Vocab.load(path) for name, path in vocab_path.items()} if isinstance(vocab_path, dict)
             else Vocab.load(vocab_path))
    return save_model_dir(directory, kind, arrays, vocab, config, metrics or None, readme)


# --------------------------------------------------------------------------------------------
# Training checkpoints (one directory, swapped in atomically after every epoch)
# --------------------------------------------------------------------------------------------
CHECKPOINT_DIR = ".checkpoint"
STATE, OPTIMIZER, BEST = "state.json", "optimizer.npz", "best.npz"


def rng_state() -> dict:
    """Python, NumPy and Paddle RNG states as JSON-ready values."""
    version, internal, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return {"random": [version, list(internal), gauss],
            "numpy": [name, keys.tolist(), int(pos), int(has_gauss), float(cached)],
            "paddle": [list(_plain(s.__getstate__())) for s in paddle.get_rng_state()]}


def _plain(value):
    return [_plain(v) for v in value] if isinstance(value, (list, tuple)) else value


def set_rng_state(state: dict) -> None:
    version, internal, gauss = state["random"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    current = paddle.get_rng_state()
    restored = []
    for template, saved in zip(current, state["paddle"], strict=True):
        generator = type(template).__new__(type(template))
        generator.__setstate__(tuple(saved))
        restored.append(generator)
    paddle.set_rng_state(restored)


def param_names(model) -> dict:
    """Paddle's global parameter names (``linear_3.w_0``, which depend on how many layers were
    created before) → the model's structural names (``fc.weight``)."""
    return {param.name: name for name, param in model.named_parameters()}


def rename_optimizer_state(state: dict, names: dict) -> dict:
    """Rename accumulator keys (``<param name>_moment1_0``) with ``names``: optimizer state saved by
    structural name can be loaded into a freshly built model whose global names differ."""
    ordered = sorted(names, key=len, reverse=True)  # longest prefix wins
    renamed = {}
    for key, value in state.items():
        prefix = next((n for n in ordered if key.startswith(n + "_")), None)
        renamed[names[prefix] + key[len(prefix):] if prefix else key] = value
    return renamed


def save_checkpoint(directory, model, optimizer=None, state: dict | None = None, best: dict | None = None) -> Path:
    """Weights, optimizer state, best weights and ``state.json`` in one atomically swapped directory."""
    directory = Path(directory)
    state_text = json_text(state, "the training state") if state is not None else None
    arrays = model_arrays(model)
    opt = None
    if optimizer is not None:
        opt = rename_optimizer_state(optimizer.state_dict(), param_names(model))
        extra = {k: v for k, v in opt.items() if not isinstance(v, paddle.Tensor)}
        opt = ({k: v.numpy() for k, v in opt.items() if isinstance(v, paddle.Tensor)}, extra)

    def fill(tmp: Path) -> None:
        save_arrays(tmp / WEIGHTS, arrays, compress=False)
        if opt is not None:
            save_arrays(tmp / OPTIMIZER, opt[0], compress=False)
            (tmp / "optimizer.json").write_text(json_text(opt[1], "the optimizer state"), encoding="utf-8")
        if best is not None:
            save_arrays(tmp / BEST, best, compress=False)
        if state_text is not None:
            (tmp / STATE).write_text(state_text, encoding="utf-8")

    try:
        return write_dir_atomically(directory, fill)
    except OSError as err:
        raise CourseError(f"cannot write checkpoint directory {directory}: {err.strerror or err}") from err


def load_checkpoint(directory, model, optimizer=None) -> tuple:
    """Restore weights (and optimizer state) from :func:`save_checkpoint`; returns ``(state dict,
    best weights or None)``. Loading never unpickles; every problem is one :class:`CourseError`."""
    directory = recover(directory)
    set_model_arrays(model, load_arrays(directory / WEIGHTS, "checkpoint weights"), directory)
    if optimizer is not None and (directory / OPTIMIZER).is_file():
        tensors = {k: paddle.to_tensor(v) for k, v in load_arrays(directory / OPTIMIZER, "optimizer state").items()}
        extra = read_json(directory / "optimizer.json", "optimizer state")
        to_global = {v: k for k, v in param_names(model).items()}
        optimizer.set_state_dict(rename_optimizer_state({**tensors, **extra}, to_global))
    state = read_json(directory / STATE, "training state")
    best = load_arrays(directory / BEST, "best weights") if (directory / BEST).is_file() else None
    return state, best
