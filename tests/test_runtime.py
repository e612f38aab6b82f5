"""setup(): seeds everything, keeps Paddle quiet at its source, and the suite stays offline."""

import random
import socket
import subprocess
import sys
import urllib.request

import numpy as np
import paddle
import pytest

import rnn_course


def test_setup_seeds_random_numpy_and_paddle():
    draws = []
    for _ in range(2):
        rnn_course.setup(7, font=False)
        draws.append((random.random(), np.random.rand(), paddle.rand([3]).numpy().tolist()))
    assert draws[0] == draws[1]
    rnn_course.setup(8, font=False)
    assert paddle.rand([3]).numpy().tolist() != draws[0][2]


def test_seeded_training_is_reproducible():
    def run():
        rnn_course.setup(3, font=False)
        net = paddle.nn.LSTM(2, 4)
        opt = paddle.optimizer.Adam(parameters=net.parameters())
        x = paddle.rand([5, 6, 2])
        losses = []
        for _ in range(5):
            loss = net(x)[0].square().mean()
            loss.backward()
            opt.step()
            opt.clear_grad()
            losses.append(loss.item())
        return losses

    assert run() == run()


def test_import_is_quiet_even_with_all_warnings_shown():
    """No 'No ccache found' (with its machine path) or glog lines: stderr stays empty."""
    code = "import rnn_course, paddle; rnn_course.setup(0, font=False); paddle.nn.LSTM(2, 3)"
    result = subprocess.run([sys.executable, "-W", "default", "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stderr == "" and result.stdout == ""


def test_only_the_named_messages_are_filtered():
    """Other warnings still reach the user after the quiet import and setup(). (pytest.warns would reset
    the filters and pass even under a global "ignore", so this runs in a fresh interpreter.)"""
    code = ("import warnings, rnn_course, paddle; rnn_course.setup(0, font=False); "
            "warnings.warn('something else', UserWarning, stacklevel=1)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "UserWarning: something else" in result.stderr


def test_network_is_blocked_in_tests():
    with pytest.raises(RuntimeError, match="network"):
        urllib.request.urlopen("http://example.com", timeout=1)
    with pytest.raises(RuntimeError, match="network"):
        socket.create_connection(("93.184.216.34", 80), timeout=1)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    with pytest.raises(RuntimeError, match="network"):
        s.connect(("93.184.216.34", 80))
    s.close()


def test_seed_offset_shifts_every_seed(monkeypatch):
    """RNN_COURSE_SEED_OFFSET=k makes setup(s) and every generator seed behave like seed s + k."""
    from rnn_course.data import adding_problem
    from rnn_course.runtime import shift_seed

    monkeypatch.delenv("RNN_COURSE_SEED_OFFSET", raising=False)
    assert shift_seed(5) == 5 and shift_seed(None) is None
    rnn_course.setup(3, font=False)
    plain = paddle.rand([3]).numpy().tolist()
    x3 = adding_problem(4, 6, seed=3)[0]
    monkeypatch.setenv("RNN_COURSE_SEED_OFFSET", "1")
    assert shift_seed(5) == 6
    rnn_course.setup(2, font=False)
    assert paddle.rand([3]).numpy().tolist() == plain
    np.testing.assert_array_equal(adding_problem(4, 6, seed=2)[0], x3)
    assert not np.array_equal(adding_problem(4, 6, seed=3)[0], x3)


def test_seed_offset_must_be_an_integer(monkeypatch):
    monkeypatch.setenv("RNN_COURSE_SEED_OFFSET", "one")
    with pytest.raises(rnn_course.errors.CourseError, match="RNN_COURSE_SEED_OFFSET"):
        rnn_course.setup(0, font=False)
