"""Shared test set-up: quiet Paddle, fixed seeds, and no network access at all."""

import socket

import pytest

import rnn_course


class NetworkBlocked(RuntimeError):
    pass


def _refuse(*args, **kwargs):
    raise NetworkBlocked("the test suite must not use the network")


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    """Any attempt to open an internet connection fails the test (local UNIX sockets still work)."""
    original_connect = socket.socket.connect

    def guarded_connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            host = address[0]
            if host not in ("127.0.0.1", "::1", "localhost"):
                _refuse()
        return original_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket, "create_connection", _refuse)
    monkeypatch.setattr(socket, "getaddrinfo", _refuse)


@pytest.fixture(scope="module")
def user_tsv(tmp_path_factory):
    """A small labelled file in the user format ('label<TAB>text'), drawn from the training split."""
    from rnn_course.data import load_review_splits

    train = load_review_splits()["train"]
    lines = [f"{label}\t{text}" for text, label in zip(train.texts[::60], train.labels[::60], strict=False)]
    path = tmp_path_factory.mktemp("data") / "reviews.tsv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def _seeded():
    rnn_course.setup(0, font=False)
