"""`rnn-course tour` — the README's first command — runs end to end and reports real numbers."""

import re

from rnn_course.cli import main
from rnn_course.tour import verify_cells


def test_verify_cells_is_exact():
    diffs = verify_cells(0)
    assert set(diffs) == {"rnn", "lstm", "gru"}
    assert all(d <= 1e-5 for d in diffs.values())


def test_tour_runs_and_compares_with_the_baseline(capsys):
    assert main(["tour"]) == 0
    out = capsys.readouterr().out
    assert out.count("OK") == 3 and "MISMATCH" not in out
    accuracies = [float(a) for a in re.findall(r"accuracy (0\.\d+)", out)]
    assert len(accuracies) == 3, out
    live, baseline, shipped = accuracies
    assert 0.7 < live < 0.9 and 0.85 < baseline < 0.88 and 0.8 < shipped < 0.9
    assert "make lab" in out
    lines = out.splitlines()
    translations = [line for line in lines if "  →  " in line]
    assert len(translations) == 2 and all(line.split("  →  ")[1].strip() for line in translations)
    assert re.search(r"test BLEU \d+\.\d\d with beam 4 vs \d+\.\d\d for a retrieval baseline", out)
    # step 6: the shipped LM writes two reviews per label, and its card's perplexity beats the trigram it names
    reviews = [line for line in lines if line.startswith("   <pos> 这家酒店") or line.startswith("   <neg> 这家酒店")]
    assert len(reviews) == 4, out
    model_ppl, trigram_ppl, mixed_ppl = map(float, re.search(
        r"perplexity (\d+\.\d) per character vs (\d+\.\d) for an interpolated trigram, (\d+\.\d) for the two "
        r"interpolated", out).groups())
    assert mixed_ppl < model_ppl < trigram_ppl
