"""``rnn-course tour``: a few minutes that show what the course does, on a CPU, offline."""

from __future__ import annotations

import time


def register_cli(sub) -> None:
    p = sub.add_parser("tour", help="a short guided run: verified cells and a small trained RNN")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run)


def verify_cells(seed: int = 0) -> dict:
    """Max |scratch − paddle.nn| for each cell type over a random 9-step sequence."""
    import numpy as np
    import paddle

    from rnn_course.cells import cell_forward, numpy_params
    from rnn_course.models import LAYERS

    rng = np.random.default_rng(seed)
    x = rng.standard_normal((3, 9, 5)).astype(np.float32)
    diffs = {}
    for name, layer_cls in LAYERS.items():
        layer = layer_cls(5, 7)
        out, _ = layer(paddle.to_tensor(x))
        p = numpy_params(layer)
        ours, _ = cell_forward(name, x, p["weight_ih_l0"], p["weight_hh_l0"], p["bias_ih_l0"], p["bias_hh_l0"])
        diffs[name] = float(np.abs(ours - out.numpy()).max())
    return diffs


def train_sine(seed: int = 0, epochs: int = 20):
    """Next-step prediction of a noisy sine with a SimpleRNN; returns (test MSE, persistence MSE)."""
    import numpy as np
    import paddle

    from rnn_course.data import make_windows, noisy_sine
    from rnn_course.models import SequenceRegressor
    from rnn_course.train import fit, make_optimizer, predict

    X, y = make_windows(noisy_sine(1200, noise=0.1, seed=seed), window=20)
    n = int(0.8 * len(X))
    batches = [(X[i : i + 32], y[i : i + 32]) for i in range(0, n, 32)]
    model = SequenceRegressor(1, 16, "rnn")
    fit(model, batches, optimizer=make_optimizer(model, learning_rate=1e-2), loss_fn=paddle.nn.functional.mse_loss,
        epochs=epochs)
    pred = predict(model, [(X[n:], y[n:])])
    mse = float(np.mean((pred - y[n:]) ** 2))
    persistence = float(np.mean((X[n:, -1] - y[n:]) ** 2))
    return mse, persistence


def run(args) -> int:
    import rnn_course

    rnn_course.setup(args.seed)
    start = time.perf_counter()
    print("循环神经网络实战课 — tour\n")
    print("1) From-scratch NumPy cells vs paddle.nn (max abs difference over 9 steps):")
    for name, diff in verify_cells(args.seed).items():
        print(f"   {name:5s} {diff:.1e}  {'OK' if diff <= 1e-5 else 'MISMATCH'}")
    print("\n2) A SimpleRNN(16) learns next-step prediction of a noisy sine:")
    mse, persistence = train_sine(args.seed)
    print(f"   test MSE {mse:.4f} vs persistence (repeat the last value) {persistence:.4f}; noise floor 0.0100")
    print(f"\nDone in {time.perf_counter() - start:.0f} s. Next: `make lab` and open chapters/01_rnn_basics.ipynb")
    return 0
