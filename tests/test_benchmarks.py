"""The adding-problem benchmark: fast, seeded, honest about its budget."""

import numpy as np
import pytest

from rnn_course import benchmarks as B
from rnn_course.errors import CourseError


def test_record_of_a_short_run_is_consistent():
    r = B.adding_benchmark("lstm", seq_len=10, seed=0, hidden_size=8, batch_size=16, budget_steps=40,
                           eval_every=20, n_eval=200)
    assert r.train_steps == 40 and r.curve_steps == [20, 40]
    assert len(r.curve_mse) == 2 and all(np.isfinite(r.curve_mse))
    assert r.seconds > 0 and not r.diverged
    assert abs(r.baseline_mse - 1 / 6) < 0.03  # "always predict 1" on the held-out set
    assert r.row()["final_mse"] == r.curve_mse[-1]


def test_same_seed_same_numbers_other_seed_other_numbers():
    kwargs = dict(seq_len=8, hidden_size=8, batch_size=16, budget_steps=30, eval_every=10, n_eval=100)
    a = B.adding_benchmark("rnn", seed=1, **kwargs)
    b = B.adding_benchmark("rnn", seed=1, **kwargs)
    c = B.adding_benchmark("rnn", seed=2, **kwargs)
    assert a.curve_mse == b.curve_mse
    assert a.curve_mse != c.curve_mse


def test_target_stops_the_run_and_is_recorded():
    # T=4 is easy: an LSTM gets below MSE 0.05 quickly; the run stops at the first evaluation below it
    r = B.adding_benchmark("lstm", seq_len=4, seed=0, hidden_size=16, batch_size=64, budget_steps=1500,
                           eval_every=25, n_eval=200, target_mse=0.05)
    assert r.solved and r.solved_step == r.train_steps == r.curve_steps[-1]
    assert r.curve_mse[-1] < 0.05 <= min(r.curve_mse[:-1], default=1.0)
    assert 0 < r.solved_seconds <= r.seconds


def test_the_held_out_mse_is_the_model_mse():
    model = B.AddingModel("gru", hidden_size=4)
    import paddle

    from rnn_course.data import adding_problem

    x, y = adding_problem(50, 6, seed=0)
    pred = model(paddle.to_tensor(x)).numpy()
    assert abs(B.evaluate_mse(model, x, y, batch_size=7) - float(((pred - y) ** 2).mean())) < 1e-6


def test_cell_types_and_errors():
    assert B.AddingModel("irnn", 4).rnn.weight_hh_l0.numpy().tolist() == np.eye(4).tolist()
    assert B.AddingModel("SimpleRNN", 4).cell_type == "rnn"
    with pytest.raises(CourseError, match="unknown cell type"):
        B.adding_benchmark("transformer", seq_len=5, seed=0)
    with pytest.raises(CourseError, match="budget"):
        B.adding_benchmark("lstm", seq_len=5, seed=0, budget_steps=None)


def test_summarize_and_parallel_runs_agree():
    configs = [dict(cell_type="rnn", seq_len=6, seed=s, hidden_size=4, batch_size=8, budget_steps=10, eval_every=5,
                    n_eval=50) for s in (0, 1)]
    serial = B.run_adding_benchmarks(configs)
    parallel = B.run_adding_benchmarks(configs, workers=2)
    assert [r.curve_mse for r in serial] == [r.curve_mse for r in parallel]
    (row,) = B.summarize(serial)
    assert row["runs"] == 2 and row["cell"] == "rnn" and row["T"] == 6
    assert row["solved"] == sum(r.solved for r in serial)
