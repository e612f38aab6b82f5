"""Device selection: cpu by default, gpu/auto from the argument or $RNN_COURSE_DEVICE, clear errors."""

import paddle
import pytest

import rnn_course
from rnn_course import runtime
from rnn_course.errors import CourseError


@pytest.fixture
def gpus(monkeypatch):
    """Pretend Paddle sees ``n`` GPUs; record what ``paddle.set_device`` is asked for (without switching)."""
    monkeypatch.delenv(runtime.DEVICE_ENV, raising=False)
    asked = []
    monkeypatch.setattr(paddle, "set_device", lambda name: asked.append(name))

    def set_count(n):
        monkeypatch.setattr(paddle.device.cuda, "device_count", lambda: n)
        return asked

    return set_count


def test_cpu_is_the_default(gpus):
    asked = gpus(2)  # even with GPUs present: the stored outputs and CI are CPU
    assert runtime.resolve_device() == "cpu"
    rnn_course.setup(0, font=False)
    assert asked == ["cpu"]


@pytest.mark.parametrize("count, expected", [(0, "cpu"), (1, "gpu"), (4, "gpu")])
def test_auto_takes_a_gpu_when_there_is_one(gpus, count, expected):
    asked = gpus(count)
    assert runtime.resolve_device("auto") == expected
    rnn_course.setup(0, device="auto", font=False)
    assert asked == [expected]


def test_the_environment_variable_is_read(gpus, monkeypatch):
    asked = gpus(1)
    monkeypatch.setenv(runtime.DEVICE_ENV, " GPU ")
    rnn_course.setup(0, font=False)
    assert asked == ["gpu"]
    assert runtime.resolve_device("cpu") == "cpu"  # an explicit argument wins over the variable


def test_a_gpu_that_is_not_there_is_one_clear_error(gpus, monkeypatch):
    asked = gpus(0)
    with pytest.raises(CourseError, match="no GPU") as info:
        rnn_course.setup(0, device="gpu", font=False)
    assert "\n" not in str(info.value) and "paddlepaddle-gpu" in str(info.value)
    assert asked == []  # nothing was switched
    monkeypatch.setenv(runtime.DEVICE_ENV, "gpu")
    with pytest.raises(CourseError, match=runtime.DEVICE_ENV):
        runtime.resolve_device()


def test_gpu_numbers(gpus):
    gpus(2)
    assert runtime.resolve_device("gpu:1") == "gpu:1"
    with pytest.raises(CourseError, match="only 2 GPU"):
        runtime.resolve_device("gpu:2")
    with pytest.raises(CourseError, match="integer"):
        runtime.resolve_device("gpu:x")


@pytest.mark.parametrize("bad", ["cuda", "tpu", "1"])
def test_unknown_names_are_refused(gpus, bad):
    gpus(1)
    with pytest.raises(CourseError, match="cpu, gpu, auto"):
        runtime.resolve_device(bad)


def test_this_machine_really_runs_on_the_cpu_by_default(monkeypatch):
    monkeypatch.delenv(runtime.DEVICE_ENV, raising=False)
    rnn_course.setup(0, font=False)
    assert paddle.device.get_device() == "cpu"
    assert runtime.gpu_count() >= 0


def test_cli_device_option(monkeypatch, capsys):
    """`--device` reaches setup() through $RNN_COURSE_DEVICE for the command only; a missing GPU is one line."""
    import os

    from rnn_course.cli import main

    monkeypatch.delenv(runtime.DEVICE_ENV, raising=False)
    monkeypatch.setattr(runtime, "gpu_count", lambda: 0)
    assert main(["sentiment", "predict", "--device", "gpu", "很好"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no GPU" in err and "Traceback" not in err
    assert main(["generate", "--device", "cpu", "--n", "1", "--max-chars", "3", "--label", "pos"]) == 0
    assert capsys.readouterr().out.startswith("[pos]")
    assert main(["generate", "--device", "quantum", "--n", "1"]) == 2
    assert "cpu, gpu, auto" in capsys.readouterr().err
    assert runtime.DEVICE_ENV not in os.environ  # restored after the command
