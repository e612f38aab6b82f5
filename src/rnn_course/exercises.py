"""The checks that exercise test cells call: ``check_close``, ``check_equal``, ``check_true``.

Their messages (in Chinese) say which term is wrong. Student editions, grading and the rest of the
classroom tooling live in :mod:`rnn_course.classroom`.
"""

from __future__ import annotations

import numpy as np


# --------------------------------------------------------------------------------------------
# Helpers used inside test cells
# --------------------------------------------------------------------------------------------
def check_close(actual, expected, message: str, atol: float = 1e-5) -> None:
    """Assert ``actual`` ≈ ``expected`` (same shape, max abs diff ≤ atol); fail with ``message``."""
    actual = np.asarray(actual.numpy() if hasattr(actual, "numpy") else actual, dtype=np.float64)
    expected = np.asarray(expected.numpy() if hasattr(expected, "numpy") else expected, dtype=np.float64)
    if actual.shape != expected.shape:
        raise AssertionError(f"{message}（形状 {actual.shape}，应为 {expected.shape}）")
    diff = float(np.max(np.abs(actual - expected))) if actual.size else 0.0
    if not diff <= atol:
        raise AssertionError(f"{message}（最大误差 {diff:.3g}，允许 {atol:g}）")


def check_equal(actual, expected, message: str) -> None:
    """Assert ``actual == expected`` exactly; fail with ``message``."""
    if actual != expected:
        raise AssertionError(f"{message}（得到 {actual!r}，应为 {expected!r}）")


def check_true(condition, message: str) -> None:
    if not condition:
        raise AssertionError(message)
