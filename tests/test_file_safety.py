"""Issue 12: nothing a user saved is lost, loading never runs code, bad input is one line + exit 2.

Each test names the finding it guards; each failed before the fix (see the closing note of issue 12).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rnn_course import checkpoints
from rnn_course.cli import main
from rnn_course.data import Vocab, read_labelled_tsv
from rnn_course.errors import CourseError

ROOT = Path(__file__).resolve().parents[1]


def train_argv(user_tsv, out, *extra):
    return ["sentiment", "train", "--data", str(user_tsv), "--cell", "gru", "--epochs", "1", "--hidden-size", "4",
            "--embed-size", "4", "--max-len", "16", "--quiet", "--out", str(out), *extra]


@pytest.fixture(scope="module")
def trained(tmp_path_factory, user_tsv):
    out = tmp_path_factory.mktemp("runs") / "model"
    assert main(train_argv(user_tsv, out)) == 0
    return out


def fails_cleanly(capsys, argv, match):
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("rnn-course: error: ") and "Traceback" not in err, err
    assert match in err, err
    return err


def snapshot(folder: Path) -> dict:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


# --------------------------------------------------------------------------------------------
# §1 Data loss
# --------------------------------------------------------------------------------------------
def test_train_refuses_to_overwrite_a_model_without_force(capsys, tmp_path, user_tsv, trained):
    before = snapshot(trained)
    fails_cleanly(capsys, train_argv(user_tsv, trained), "already holds a model: add --force")
    assert snapshot(trained) == before
    copy = tmp_path / "copy"
    copy.mkdir()
    for name, content in before.items():
        (copy / name).write_bytes(content)
    (copy / "README.md").write_text("my notes", encoding="utf-8")
    assert main(train_argv(user_tsv, copy, "--force", "--seed", "1")) == 0
    capsys.readouterr()
    assert not (copy / "README.md").exists(), "an old file was left next to the new model"
    assert snapshot(copy)["weights.npz"] != before["weights.npz"]


def test_model_kinds_never_mix(capsys, trained, tmp_path):
    before = snapshot(trained)
    fails_cleanly(capsys, ["generate", "train", "--out", str(trained)], "holds a sentiment model, not a language_model")
    lm = tmp_path / "lm"
    lm.mkdir()
    for p in checkpoints.recover(ROOT / "src" / "rnn_course" / "assets" / "lm").iterdir():
        (lm / p.name).write_bytes(p.read_bytes())
    fails_cleanly(capsys, ["sentiment", "train", "--out", str(lm)], "holds a language_model model, not a sentiment")
    assert snapshot(trained) == before


def test_folder_with_other_files_is_refused(capsys, tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "config.txt").write_text("my own file", encoding="utf-8")
    fails_cleanly(capsys, ["sentiment", "train", "--out", str(tmp_path / "mine")], "holds no course model")
    assert (tmp_path / "mine" / "config.txt").read_text(encoding="utf-8") == "my own file"


def test_resume_with_nothing_to_resume_is_an_error(capsys, user_tsv, trained):
    before = snapshot(trained)
    fails_cleanly(capsys, train_argv(user_tsv, trained, "--resume"), "nothing to resume")
    assert snapshot(trained) == before


@pytest.mark.parametrize("out", ["", "  ", "/", "."])
def test_empty_or_root_like_out_is_refused(capsys, out, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config.json").write_text("{}", encoding="utf-8")
    fails_cleanly(capsys, ["sentiment", "train", "--out", out], "--out")
    fails_cleanly(capsys, ["generate", "train", "--out", out], "--out")
    assert (tmp_path / "config.json").read_text(encoding="utf-8") == "{}"


def test_export_out_must_be_a_file_prefix(capsys, tmp_path, trained, monkeypatch):
    monkeypatch.chdir(tmp_path)
    fails_cleanly(capsys, ["sentiment", "export", "--model", str(trained), "--out", ""], "needs a file name prefix")
    (tmp_path / "folder").mkdir()
    fails_cleanly(capsys, ["sentiment", "export", "--model", str(trained), "--out", str(tmp_path / "folder")],
                  "is a folder")
    assert list(tmp_path.parent.glob(f"{tmp_path.name}.json")) == []


def test_directory_save_is_atomic_when_killed_between_renames(tmp_path, monkeypatch):
    """Killed right after the old folder was parked, the next load puts the old model back: the folder is
    never half old, half new."""
    vocab = Vocab(["<pad>", "<unk>", "a"])
    old = {"w": np.ones(3, dtype=np.float32)}
    folder = checkpoints.save_model_dir(tmp_path / "m", "toy", old, vocab, {"size": 1})
    real_replace, calls = os.replace, []

    def dies_on_second_rename(src, dst):
        calls.append((src, dst))
        if len(calls) == 3:  # 1: weights.npz inside the new folder, 2: park the old folder, 3: swap in
            raise KeyboardInterrupt("killed")
        real_replace(src, dst)

    monkeypatch.setattr(checkpoints.os, "replace", dies_on_second_rename)
    with pytest.raises(KeyboardInterrupt):
        checkpoints.save_model_dir(folder, "toy", {"w": np.zeros(5, dtype=np.float32)}, vocab, {"size": 2})
    monkeypatch.setattr(checkpoints.os, "replace", real_replace)
    arrays, _, config, _ = checkpoints.read_model_dir(folder, "toy")
    assert config == {"size": 1} and arrays["w"].tolist() == [1, 1, 1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"], "temporary folders were left behind"


def test_simulated_crash_after_first_rename_leaves_a_recoverable_model(tmp_path):
    vocab = Vocab(["<pad>", "<unk>", "a"])
    folder = checkpoints.save_model_dir(tmp_path / "m", "toy", {"w": np.ones(2, dtype=np.float32)}, vocab, {"k": 1})
    os.replace(folder, tmp_path / ".m.previous")  # the state a kill right after the first rename leaves
    assert checkpoints.read_model_dir(folder, "toy")[2] == {"k": 1}


def test_interrupted_run_is_kept_unless_resume_or_force(capsys, tmp_path, user_tsv):
    out = tmp_path / "run"
    (out / ".checkpoint").mkdir(parents=True)
    (out / ".checkpoint" / "state.json").write_text("{}", encoding="utf-8")
    fails_cleanly(capsys, train_argv(user_tsv, out), "holds an interrupted run: add --resume")
    assert (out / ".checkpoint" / "state.json").is_file()


# --------------------------------------------------------------------------------------------
# §3 Silent wrong results
# --------------------------------------------------------------------------------------------
def test_resume_with_a_changed_option_is_refused(capsys, tmp_path, user_tsv, monkeypatch):
    """Train 2 epochs but stop after the first (as a kill would), then resume with another --lr/--seed."""
    from rnn_course import train

    out = tmp_path / "run"
    real = train.save_training_state

    def stop_after_first_epoch(*args, **kwargs):
        real(*args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(train, "save_training_state", stop_after_first_epoch)
    assert main(train_argv(user_tsv, out, "--epochs", "2")) == 130
    monkeypatch.setattr(train, "save_training_state", real)
    capsys.readouterr()
    fails_cleanly(capsys, train_argv(user_tsv, out, "--epochs", "2", "--resume", "--lr", "0.01"),
                  "cannot resume: lr was 0.002 in the interrupted run, now 0.01")
    fails_cleanly(capsys, train_argv(user_tsv, out, "--epochs", "2", "--resume", "--seed", "1"), "seed was 0")
    fails_cleanly(capsys, train_argv(user_tsv, out, "--epochs", "2", "--resume", "--tokenizer", "word"), "tokenizer")
    assert main(train_argv(user_tsv, out, "--epochs", "2", "--resume")) == 0
    assert json.loads((out / "metrics.json").read_text(encoding="utf-8"))["epochs_run"] == 2


@pytest.mark.parametrize("option,value", [("--lr", "inf"), ("--lr", "nan"), ("--lr", "0"), ("--dropout", "nan"),
                                          ("--dropout", "1.5"), ("--dropout", "-0.5"), ("--dropout", "inf"),
                                          ("--patience", "0"), ("--seed", "-1"), ("--seed", "99999999999")])
def test_numeric_options_are_checked_before_training(capsys, tmp_path, user_tsv, option, value):
    fails_cleanly(capsys, train_argv(user_tsv, tmp_path / "o", option, value), option)
    assert not (tmp_path / "o").exists(), "a failed run left an --out folder behind"


@pytest.mark.parametrize("argv", [["generate", "--seed", "-1"], ["generate", "--seed", "99999999999"],
                                  ["generate", "train", "--out", "X", "--seed", "-1"],
                                  ["generate", "train", "--out", "X", "--lr", "inf"]])
def test_generate_options_are_checked(capsys, argv, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    fails_cleanly(capsys, argv, "--")
    assert not (tmp_path / "X").exists()


def test_json_never_holds_nan(tmp_path):
    with pytest.raises(CourseError, match="non-finite"):
        checkpoints.write_json(tmp_path / "m.json", {"loss": float("nan")}, "metrics")
    (tmp_path / "bare.json").write_text('{"loss": NaN}', encoding="utf-8")
    with pytest.raises(CourseError, match="not valid JSON"):
        checkpoints.read_json(tmp_path / "bare.json", "metrics")


# --------------------------------------------------------------------------------------------
# §5 Tracebacks that became one line
# --------------------------------------------------------------------------------------------
def test_generate_train_out_is_checked_before_training(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    fails_cleanly(capsys, ["generate", "train", "--out", str(blocker)], "is a file")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as a user who can write anywhere")
        fails_cleanly(capsys, ["generate", "train", "--out", str(locked / "lm")], "permission denied")
    finally:
        locked.chmod(0o700)


@pytest.mark.parametrize("name,content,match", [
    ("metrics.json", b"{broken", "metrics file is corrupt"),
    ("metrics.json", b"[1]", "metrics file is corrupt"),
    ("vocab.json", None, "vocab.json is missing or not a file"),
])
def test_damaged_side_files_are_one_line(capsys, trained, tmp_path, name, content, match):
    broken = tmp_path / "b"
    broken.mkdir()
    for p in trained.iterdir():
        if p.is_file():
            (broken / p.name).write_bytes(p.read_bytes())
    (broken / name).unlink()
    if content is None:
        (broken / name).mkdir()  # a folder where a file should be
    else:
        (broken / name).write_bytes(content)
    fails_cleanly(capsys, ["sentiment", "predict", "--model", str(broken), "好"], match)


@pytest.mark.parametrize("config,match", [({"hidden_size": "96"}, "hidden_size"), ({"hidden_size": None}, "hidden_size"),
                                          ({"embed_size": 9.5}, "embed_size"), ([1, 2], "expected a JSON dict"),
                                          ({"cell_type": 3}, "unknown cell type")])
def test_language_model_config_of_the_wrong_type(capsys, tmp_path, config, match):
    lm = tmp_path / "lm"
    lm.mkdir()
    for p in (ROOT / "src" / "rnn_course" / "assets" / "lm").iterdir():
        (lm / p.name).write_bytes(p.read_bytes())
    (lm / "manifest.json").unlink()  # as if edited by hand in the first format (no checksums)
    (lm / "config.json").write_text(json.dumps(config), encoding="utf-8")
    fails_cleanly(capsys, ["generate", "--model", str(lm), "--n", "1"], match)


def test_language_model_vocab_without_specials(capsys, tmp_path):
    lm = tmp_path / "lm"
    lm.mkdir()
    for p in (ROOT / "src" / "rnn_course" / "assets" / "lm").iterdir():
        (lm / p.name).write_bytes(p.read_bytes())
    (lm / "manifest.json").unlink()
    tokens = json.loads((lm / "vocab.json").read_text(encoding="utf-8"))
    tokens[tokens.index("<eos>")] = "<EOS?>"
    (lm / "vocab.json").write_text(json.dumps(tokens, ensure_ascii=False), encoding="utf-8")
    fails_cleanly(capsys, ["generate", "--model", str(lm), "--n", "1"], "lacks the special token <eos>")


def test_stdin_not_utf8_and_broken_pipe(trained):
    env = {**os.environ, "PYTHONUTF8": "0", "LC_ALL": "C.UTF-8", "PYTHONIOENCODING": "utf-8:strict"}
    bad = subprocess.run([sys.executable, "-m", "rnn_course.cli", "sentiment", "predict", "--model", str(trained)],
                         input="好\n".encode("gbk") + b"\xff\n", capture_output=True, timeout=120, env=env)
    assert bad.returncode == 2 and b"Traceback" not in bad.stderr and b"not UTF-8" in bad.stderr
    many = "\n".join(["很好", "太差"] * 3000).encode("utf-8")
    pipe = subprocess.run(f"{sys.executable} -m rnn_course.cli sentiment predict --model {trained} | head -1",
                          shell=True, input=many, capture_output=True, timeout=300)
    assert pipe.stdout.count(b"\n") == 1 and b"Traceback" not in pipe.stderr and b"BrokenPipe" not in pipe.stderr


# --------------------------------------------------------------------------------------------
# §6 Inputs
# --------------------------------------------------------------------------------------------
def test_utf8_bom_is_not_part_of_the_data(tmp_path):
    path = tmp_path / "bom.tsv"
    path.write_bytes("\ufeff1\t很好\n0\t很差\n".encode())
    assert read_labelled_tsv(path).labels == [1, 0]


def test_bom_on_stdin_is_dropped(trained):
    done = subprocess.run([sys.executable, "-m", "rnn_course.cli", "sentiment", "predict", "--model", str(trained)],
                          input="\ufeff很好\n".encode(), capture_output=True, timeout=120)
    assert done.returncode == 0 and done.stdout.decode("utf-8").rstrip("\n").endswith("\t很好")


def test_tiny_temperature_samples_greedily_without_warnings():
    done = subprocess.run([sys.executable, "-W", "error::RuntimeWarning", "-m", "rnn_course.cli", "generate", "--temperature",
                           "5e-324", "--n", "1", "--max-chars", "10", "--label", "pos"],
                          capture_output=True, text=True, timeout=120)
    greedy = subprocess.run([sys.executable, "-m", "rnn_course.cli", "generate", "--temperature", "0", "--n", "1",
                             "--max-chars", "10", "--label", "pos"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "Warning" not in done.stderr, done.stderr
    assert done.stdout == greedy.stdout and len(done.stdout.strip()) > len("[pos] ")
