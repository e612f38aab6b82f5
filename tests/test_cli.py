"""``rnn-course sentiment …``: a tiny end-to-end run, and every kind of bad input gives one clear
line on stderr and exit code 2 — never a traceback."""

import json
import subprocess
import sys

import pytest

from rnn_course.cli import main

GOOD = ["1\t房间很干净，服务也好", "0\t太差了，再也不来", "1\t非常满意", "0\t质量很差"]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, user_tsv):
    out = tmp_path_factory.mktemp("model") / "m"
    code = main(["sentiment", "train", "--data", str(user_tsv), "--cell", "gru", "--epochs", "1",
                 "--hidden-size", "8", "--embed-size", "8", "--max-len", "32", "--quiet", "--out", str(out)])
    assert code == 0
    return out


def fails_cleanly(capsys, argv, match):
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("rnn-course: error: "), err
    assert "Traceback" not in err
    assert match in err, err


def test_train_predict_evaluate_export(capsys, model_dir, user_tsv, tmp_path):
    metrics = json.loads((model_dir / "metrics.json").read_text(encoding="utf-8"))
    assert set(metrics["test"]) == {"accuracy", "precision", "recall", "f1"}
    assert metrics["command"].startswith("rnn-course sentiment train --cell gru")
    assert not (model_dir / ".checkpoint").exists()
    assert main(["sentiment", "predict", "--model", str(model_dir), "房间很干净", "太差了"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[0].endswith("\t房间很干净")
    assert main(["sentiment", "evaluate", "--model", str(model_dir), "--data", str(user_tsv)]) == 0
    assert "accuracy" in capsys.readouterr().out
    assert main(["sentiment", "export", "--model", str(model_dir), "--out", str(tmp_path / "exp" / "model")]) == 0
    assert (tmp_path / "exp" / "model.json").is_file() and (tmp_path / "exp" / "model.pdiparams").is_file()
    assert "max |difference| 0.0e+00" in capsys.readouterr().out


def test_predict_reads_stdin_in_a_real_process(model_dir):
    done = subprocess.run([sys.executable, "-m", "rnn_course.cli", "sentiment", "predict", "--model",
                           str(model_dir)], input="很好\n\n很差\n", capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert [line.split("\t")[-1] for line in done.stdout.splitlines()] == ["很好", "很差"]


def test_empty_text(capsys, model_dir):
    fails_cleanly(capsys, ["sentiment", "predict", "--model", str(model_dir), "好", "  "], "text 2 is empty")


def test_unknown_cell(capsys, tmp_path):
    fails_cleanly(capsys, ["sentiment", "train", "--cell", "transformer", "--out", str(tmp_path)],
                  "unknown cell type 'transformer'")


def test_missing_model_directory(capsys, tmp_path):
    fails_cleanly(capsys, ["sentiment", "predict", "--model", str(tmp_path / "nope"), "好"],
                  "model directory not found")


def test_directory_that_is_not_a_model(capsys, tmp_path):
    fails_cleanly(capsys, ["sentiment", "evaluate", "--model", str(tmp_path)], "no config.json")


@pytest.mark.parametrize("damage,match", [
    ({"weights.npz": b"\x00garbage"}, "weights.npz was changed after the model was saved"),
    ({"config.json": b"{not json"}, "config.json was changed after the model was saved"),
    ({"vocab.json": b"[1, 2"}, "vocab.json was changed after the model was saved"),
    ({"weights.npz": None}, "weights.npz is missing"),
    ({"manifest.json": b"{not json"}, "model manifest is corrupt"),
    ({"metrics.json": b"[1, 2"}, "metrics file is corrupt"),
    ({"manifest.json": None, "config.json": b'{"hidden_size": "96"}'}, "hidden_size must be of type int"),
])
def test_corrupt_model_directory(capsys, model_dir, tmp_path, damage, match):
    broken = tmp_path / "broken"
    broken.mkdir()
    for path in model_dir.iterdir():
        (broken / path.name).write_bytes(path.read_bytes())
    for name, content in damage.items():
        if content is None:
            (broken / name).unlink()
        else:
            (broken / name).write_bytes(content)
    fails_cleanly(capsys, ["sentiment", "predict", "--model", str(broken), "好"], match)


@pytest.mark.parametrize("content,match", [
    ("1\t好\nthis line has no tab\n".encode(), "expected 'label<TAB>text'"),
    ("1\t好\n2\t还行\n".encode(), "label must be 0 or 1"),
    ("positive\t好\n".encode(), "label must be 0 or 1"),
    ("1\t好\n0\t差\n".encode() + "1\t很好\n".encode("gbk"), "not UTF-8"),
    (b"\n\n", "no labelled lines"),
])
def test_bad_data_file(capsys, tmp_path, model_dir, content, match):
    path = tmp_path / "data.tsv"
    path.write_bytes(content)
    fails_cleanly(capsys, ["sentiment", "train", "--data", str(path), "--out", str(tmp_path / "out")], match)
    fails_cleanly(capsys, ["sentiment", "evaluate", "--model", str(model_dir), "--data", str(path)], match)


def test_missing_data_file_and_too_few_texts(capsys, tmp_path):
    fails_cleanly(capsys, ["sentiment", "train", "--data", str(tmp_path / "none.tsv"), "--out", str(tmp_path)],
                  "data file not found")
    path = tmp_path / "few.tsv"
    path.write_text("\n".join(GOOD[:2]) + "\n", encoding="utf-8")
    fails_cleanly(capsys, ["sentiment", "train", "--data", str(path), "--out", str(tmp_path / "o")], "too few")


def test_unwritable_output_directory(capsys, tmp_path, model_dir):
    blocker = tmp_path / "a_file"
    blocker.write_text("I am a file, not a directory")
    fails_cleanly(capsys, ["sentiment", "train", "--out", str(blocker / "model")], "cannot write to --out")
    fails_cleanly(capsys, ["sentiment", "export", "--model", str(model_dir), "--out", str(blocker / "exp" / "model")],
                  "export folder")


def test_bad_numbers(capsys, tmp_path):
    fails_cleanly(capsys, ["sentiment", "train", "--epochs", "0", "--out", str(tmp_path)], "--epochs")
    fails_cleanly(capsys, ["sentiment", "train", "--pooling", "attention", "--out", str(tmp_path)], "pooling")
    fails_cleanly(capsys, ["sentiment", "train", "--embed-init", "zeros", "--out", str(tmp_path)], "embed_init")
    fails_cleanly(capsys, ["sentiment", "train", "--weight-decay", "-1", "--out", str(tmp_path)], "--weight-decay")
