"""``rnn-course tour`` — the guided run of :mod:`rnn_course.tour`."""

from __future__ import annotations

from rnn_course.tour import show_tour


def register(sub) -> None:
    p = sub.add_parser("tour", help="a short guided run (≤ 3 min on a CPU): verified cells, a live sentiment "
                                    "model vs the baseline, predictions")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run_tour)


def run_tour(args) -> int:
    return show_tour(args.seed)
