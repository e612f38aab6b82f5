"""setup(): seeds everything, keeps Paddle quiet at its source, and the suite stays offline."""

import os
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


def test_cpu_threads_sets_and_restores_the_thread_count(monkeypatch):
    """cpu_threads(n) gives Paddle n threads inside the block and the previous count after it, also when
    the block raises or blocks are nested; a count below 1 is refused before anything changes."""
    from rnn_course import runtime
    from rnn_course.errors import CourseError

    calls = []
    monkeypatch.setattr(paddle.base.core, "set_num_threads", calls.append)
    monkeypatch.setattr(runtime, "_threads", 1)
    with runtime.cpu_threads(2):
        assert calls == [2]
        with runtime.cpu_threads(3):
            assert calls == [2, 3]
        assert calls == [2, 3, 2]
    assert calls == [2, 3, 2, 1] and runtime._threads == 1
    with pytest.raises(ValueError), runtime.cpu_threads(2):
        raise ValueError("inside the block")
    assert calls[-2:] == [2, 1]
    with runtime.cpu_threads():
        assert calls[-1] == max(1, os.cpu_count() or 1)
    with pytest.raises(CourseError, match="≥ 1"), runtime.cpu_threads(0):
        pass
    assert calls[-1] == 1 and runtime._threads == 1


def test_cpu_threads_changes_only_the_last_digits():
    """Language-model log-probabilities with two threads match one thread's to float32 rounding."""
    from rnn_course.language_model import make_language_model, token_log_probs
    from rnn_course.runtime import cpu_threads

    paddle.seed(0)
    model = make_language_model(300, {"cell_type": "lstm", "embed_size": 16, "hidden_size": 64, "num_layers": 2})
    rng = np.random.default_rng(0)
    sequences = [list(rng.integers(1, 300, size=int(n))) for n in rng.integers(5, 60, size=40)]
    single = token_log_probs(model, sequences)
    with cpu_threads(2):
        double = token_log_probs(model, sequences)
    assert single.shape == double.shape == (sum(len(s) - 1 for s in sequences),)
    np.testing.assert_allclose(double, single, rtol=0, atol=1e-5)


def test_parallel_map_returns_what_the_serial_loop_returns():
    """Two worker processes give the same results, in the order of the jobs, as calling the function here;
    a job's keyword arguments reach the function unchanged."""
    from rnn_course.data import adding_problem
    from rnn_course.runtime import parallel_map

    jobs = [{"n": 3, "seq_len": 4 + k, "seed": k} for k in range(4)]
    serial = parallel_map(adding_problem, jobs)
    parallel = parallel_map(adding_problem, jobs, workers=2)
    assert [x.shape for x, _ in serial] == [(3, 4 + k, 2) for k in range(4)]
    for (x1, y1), (x2, y2) in zip(serial, parallel, strict=True):
        assert np.array_equal(x1, x2) and np.array_equal(y1, y2)
    assert not np.array_equal(serial[0][1], serial[1][1])  # different seeds, different data
