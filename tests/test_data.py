"""Corpus cleaning, the leak-free split, vocabulary, batches and synthetic tasks."""

import numpy as np
import pytest

from rnn_course import data
from rnn_course.data import Reviews, Vocab
from rnn_course.errors import CourseError


@pytest.fixture(scope="module")
def splits():
    return data.load_review_splits()


def test_corpus_size_and_cleaning():
    raw = data.load_raw_review_lines()
    clean = data.load_reviews()
    assert len(raw) == 35123
    assert 17000 < len(clean) < 17400
    assert len(set(clean.texts)) == len(clean)  # exact duplicates removed
    assert min(len(t) for t in clean.texts) >= 4


def test_clean_drops_conflicting_labels_and_duplicates():
    raw = Reviews(["好极了呀", "好极了呀", "一般般吧", "一般般吧", "太差了吧", "  太差了吧 "], [1, 1, 1, 0, 0, 0])
    clean = data.clean_reviews(raw)
    assert clean.texts == ["太差了吧", "好极了呀"] and clean.labels == [0, 1]


def test_split_is_deterministic_stratified_and_disjoint(splits):
    again = data.load_review_splits()
    assert splits["test"].texts == again["test"].texts
    sets = {k: set(v.texts) for k, v in splits.items()}
    assert not (sets["train"] & sets["test"]) and not (sets["train"] & sets["valid"])
    assert not (sets["valid"] & sets["test"])
    total = sum(len(v) for v in splits.values())
    assert abs(len(splits["test"]) / total - 0.1) < 0.01
    rate = {k: np.mean(v.labels) for k, v in splits.items()}
    assert abs(rate["train"] - rate["test"]) < 0.01


def test_raw_lines_would_leak():
    """Splitting the raw lines puts most test texts into train — the reason we dedup first."""
    raw_split = data.split_reviews(data.load_raw_review_lines())
    train = set(raw_split["train"].texts)
    leaked = np.mean([t in train for t in raw_split["test"].texts])
    assert leaked > 0.5


def test_vocab_specials_and_roundtrip(tmp_path):
    vocab = Vocab.build([list("好好好坏"), list("好坏中")], specials=("<bos>",))
    assert vocab.itos[:3] == ["<pad>", "<unk>", "<bos>"] and vocab.pad_id == 0 and vocab.unk_id == 1
    assert vocab.itos[3] == "好"  # most frequent first
    assert vocab.encode(["好", "龙"]) == [3, 1]
    assert vocab.decode([3, 0, 0]) == ["好"]
    vocab.save(tmp_path / "v.json")
    assert Vocab.load(tmp_path / "v.json").itos == vocab.itos
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(CourseError, match="corrupt"):
        Vocab.load(tmp_path / "bad.json")
    assert Vocab.build([list("abcabd")], max_vocab=4).itos == ["<pad>", "<unk>", "a", "b"]
    assert vocab.unknown_rate([["好", "龙"]]) == 0.5


def test_tokenizers():
    assert data.char_tokenize("房间 很好") == ["房", "间", "很", "好"]
    words = data.word_tokenize("房间很干净，服务也很好")
    assert "房间" in words and "".join(words) == "房间很干净，服务也很好"
    with pytest.raises(CourseError, match="tokenizer"):
        data.get_tokenizer("bpe")


def test_char_word_tokens_back_off_to_characters_outside_the_vocabulary():
    text = "溧阳的酒店很诡异"
    words = data.word_tokenize(text)
    counted = data.char_word_tokenize(text)  # counting: every word, then the characters of multi-character words
    assert counted[: len(words)] == words and "".join(counted[len(words):]) == "".join(w for w in words if len(w) > 1)
    vocab = Vocab(["<pad>", "<unk>", "的", "酒店", "很", "诡", "溧阳"])
    tokens = data.char_word_tokenize(text, vocab)
    assert "".join(tokens) == text  # nothing lost, nothing doubled
    assert "酒店" in tokens and "溧阳" in tokens  # words the vocabulary holds stay whole
    assert all(t in vocab or len(t) == 1 for t in tokens)  # the rest are single characters
    ids = data.encode_texts([text], vocab, "char+word")[0]
    assert ids == vocab.encode(tokens) and vocab.stoi["诡"] in ids
    assert vocab.stoi["诡"] not in data.encode_texts([text], vocab, "word")[0]  # word tokens: 诡异 is one <unk>
    built = Vocab.build([data.char_word_tokenize(t) for t in ["酒店很好", "酒店不好"]])
    assert {"酒店", "酒", "店"} <= set(built.itos)


def test_pad_and_collate():
    ids, lengths, labels = data.collate_batch([([5, 6, 7], 1), ([8], 0)])
    assert ids.tolist() == [[5, 6, 7], [8, 0, 0]] and lengths.tolist() == [3, 1] and labels.tolist() == [1, 0]
    assert ids.dtype == np.int64
    with pytest.raises(CourseError, match="empty"):
        data.pad_batch([])


def test_loader_yields_tensors():
    ds = data.SequenceDataset([[1, 2], [3], [4, 5, 6]], [0, 1, 1])
    batches = list(data.make_loader(ds, batch_size=2))
    ids, lengths, labels = batches[0]
    assert ids.shape == [2, 2] and lengths.numpy().tolist() == [2, 1]


def test_tsv_reader_errors(tmp_path):
    good = tmp_path / "good.tsv"
    good.write_text("1\t很好\n0\t很差\n\n", encoding="utf-8")
    assert data.read_labelled_tsv(good).labels == [1, 0]
    cases = {"nolabel.tsv": ("很好\n", "label<TAB>text"), "badlabel.tsv": ("2\t很好\n", "label must be 0 or 1"),
             "empty.tsv": ("\n\n", "no labelled lines")}
    for name, (content, message) in cases.items():
        (tmp_path / name).write_text(content, encoding="utf-8")
        with pytest.raises(CourseError, match=message):
            data.read_labelled_tsv(tmp_path / name)
    (tmp_path / "gbk.tsv").write_bytes("1\t很好\n".encode("gbk"))
    with pytest.raises(CourseError, match="not UTF-8"):
        data.read_labelled_tsv(tmp_path / "gbk.tsv")
    with pytest.raises(CourseError, match="not found"):
        data.read_labelled_tsv(tmp_path / "missing.tsv")


def test_adding_problem():
    x, y = data.adding_problem(500, 50, seed=0)
    assert x.shape == (500, 50, 2) and y.shape == (500, 1)
    assert np.all(x[..., 1].sum(axis=1) == 2)
    assert np.all(x[:, :25, 1].sum(axis=1) == 1)  # one mark in each half
    assert np.allclose(y[:, 0], (x[..., 0] * x[..., 1]).sum(axis=1))
    assert abs(np.mean((y - 1.0) ** 2) - 1 / 6) < 0.03  # the "always predict 1" baseline


def test_windows_and_sine():
    X, y = data.make_windows(np.arange(10), window=3)
    assert X.shape == (7, 3, 1) and X[0, :, 0].tolist() == [0, 1, 2] and y[0, 0] == 3 and y[-1, 0] == 9
    X2, y2 = data.make_windows(np.arange(10), window=3, horizon=2)
    assert y2[0, 0] == 4 and len(X2) == 6
    s = data.noisy_sine(200, noise=0.0)
    assert s.shape == (200,) and abs(s[0]) < 1e-6
    with pytest.raises(CourseError, match="too short"):
        data.make_windows(np.arange(3), window=5)
