"""Every shipped model folder has a model card (README.md) that agrees with its metrics.json.

The card is what a learner reads; metrics.json is what the code wrote. They must not drift apart:
the headline numbers and the exact training command in metrics.json appear verbatim in the card,
and neither records a machine path.
"""

import json
import re
from pathlib import Path

import pytest

ASSETS = Path(__file__).resolve().parents[1] / "src" / "rnn_course" / "assets"
MODEL_DIRS = sorted(p.parent for p in ASSETS.glob("*/metrics.json"))
MACHINE_PATH = re.compile(r"(?<![\w.])/(?:tmp|home|root|work|Users|mnt|var)/|[A-Za-z]:\\\\")

# (path in metrics.json, how the card prints it)
HEADLINES = [
    (("test", "accuracy"), "{:.4f}"),
    (("test", "f1"), "{:.4f}"),
    (("valid_accuracy",), "{:.4f}"),
    (("valid_perplexity",), "{:.1f}"),
    (("test_perplexity",), "{:.1f}"),
    (("test_bleu_greedy",), "{:.2f}"),
    (("test_bleu_beam4",), "{:.2f}"),
    (("retrieval_test_bleu",), "{:.2f}"),
]


def lookup(metrics: dict, path):
    for key in path:
        if not isinstance(metrics, dict) or key not in metrics:
            return None
        metrics = metrics[key]
    return metrics


def test_every_shipped_model_is_found():
    names = {p.name for p in MODEL_DIRS}
    assert {"sentiment", "lm", "translation", "translation_no_attention"} <= names


@pytest.mark.parametrize("folder", MODEL_DIRS, ids=lambda p: p.name)
def test_card_matches_metrics(folder):
    card = (folder / "README.md").read_text(encoding="utf-8")
    metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    found = 0
    for path, fmt in HEADLINES:
        value = lookup(metrics, path)
        if isinstance(value, (int, float)):
            text = fmt.format(value)
            assert text in card, f"{folder.name}: {'.'.join(path)} = {text} is in metrics.json but not in the card"
            found += 1
    assert found >= 1, f"{folder.name}: no headline metric found in metrics.json"
    command = metrics.get("command")
    if command:
        assert command in card, f"{folder.name}: the card does not show the exact command of metrics.json"


@pytest.mark.parametrize("folder", MODEL_DIRS, ids=lambda p: p.name)
def test_no_machine_paths(folder):
    for name in ("metrics.json", "README.md", "config.json"):
        path = folder / name
        if path.exists():
            hits = MACHINE_PATH.findall(path.read_text(encoding="utf-8"))
            assert not hits, f"{folder.name}/{name} records a machine path: {hits[:3]}"


def test_sentiment_card_reports_the_search():
    """The sentiment card lists every run of the search (config × seed) that metrics.json records."""
    folder = ASSETS / "sentiment"
    card = (folder / "README.md").read_text(encoding="utf-8")
    metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    runs = metrics.get("search", [])
    assert len(runs) >= 3, "the search table needs at least 3 runs (≥ 3 seeds for the finalist)"
    for run in runs:
        row = f"| {run['config']} | {run['seed']} | {run['valid_accuracy']:.4f} | {run['test_accuracy']:.4f} |"
        assert row in card, f"search run {run['config']} seed {run['seed']} is not in the card's table"
    finalist = [r for r in runs if r["config"] == metrics["search_finalist"]]
    assert len({r["seed"] for r in finalist}) >= 3, "the finalist needs at least 3 seeds"
    # the shipped configuration: round 1's finalist, or the finalist of a later round that beat it
    shipped_config = metrics.get("shipped_config", metrics["search_finalist"])
    pool = [r for r in runs + metrics.get("search_round2", {}).get("runs", []) if r["config"] == shipped_config]
    by_seed = {r["seed"]: r for r in pool}
    assert len(by_seed) >= 3, "the shipped configuration needs at least 3 seeds"
    shipped = by_seed.get(metrics["seed"])
    assert shipped and abs(shipped["test_accuracy"] - metrics["test"]["accuracy"]) < 1e-9
    assert shipped["valid_accuracy"] == metrics["valid_accuracy"]
    best_valid = max(r["valid_accuracy"] for r in pool)
    assert shipped["valid_accuracy"] == best_valid, "ship the seed with the best VALIDATION accuracy"


def test_sentiment_card_reports_seed_stats_and_leave_one_domain_out():
    """Issue 15: the finalists' seed statistics, the baseline and the leave-one-domain-out table of
    metrics.json are in the card, and the statistics agree with the search rows they summarise."""
    folder = ASSETS / "sentiment"
    card = (folder / "README.md").read_text(encoding="utf-8")
    metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    runs = metrics["search"]
    assert len({r["config"] for r in runs}) >= 8, "a real search tries many configurations"
    for name, stats in metrics["finalists"].items():
        seeds = [r for r in runs if r["config"] == name]
        for key in ("valid_accuracy", "test_accuracy"):
            values = [r[key] for r in seeds]
            assert stats[key]["seeds"] == sorted(r["seed"] for r in seeds) and len(values) >= 3
            assert abs(stats[key]["mean"] - sum(values) / len(values)) < 6e-5
            assert (stats[key]["min"], stats[key]["max"]) == (min(values), max(values))
            assert f"mean {stats[key]['mean']:.4f} ({stats[key]['min']:.4f}–{stats[key]['max']:.4f})" in card
        assert name in metrics["search_configs"]
    best = max(metrics["finalists"], key=lambda c: metrics["finalists"][c]["valid_accuracy"]["mean"])
    assert metrics["search_finalist"] == best, "the finalist with the best mean VALIDATION accuracy ships"
    assert metrics["finalist_test_accuracy"] == metrics["finalists"][best]["test_accuracy"]
    assert f"{metrics['baseline']['valid_accuracy']:.4f}" in card and f"{metrics['baseline']['accuracy']:.4f}" in card
    assert abs(metrics["search_cpu_seconds"] - sum(r["cpu_seconds"] for r in runs)) < 1
    rows = metrics["leave_one_domain_out"]["rows"]
    assert {r["held_out"] for r in rows} == {"hotel", "book", "laptop"}
    for r in rows:
        line = (f"| {r['held_out']} | {r['n_train']:,} | {r['n_test']:,} | {r['tfidf_accuracy']:.4f} | "
                f"{r['rnn_accuracy']:.4f} | {r['tfidf_in_domain_accuracy']:.4f} | {r['rnn_in_domain_accuracy']:.4f} |")
        assert line in card, f"leave-one-domain-out row {r['held_out']} is not in the card"
    reliability = metrics["leave_one_domain_out"]["reliability"]
    assert reliability["agreement"] > 0.98 and f"{reliability['agreement']:.1%}" in card


def test_sentiment_card_reports_the_second_search_round_and_its_rule():
    """Round 2 of the search (dimensions round 1 left out): every run is in the card, the rule fixed before
    the runs was applied (finalists = configs beating the base's seed 0 on validation, each with 3 seeds; a
    finalist replaces the shipped model only if its mean validation accuracy beats the base's), and the
    outcome recorded agrees with the rows."""
    folder = ASSETS / "sentiment"
    card = (folder / "README.md").read_text(encoding="utf-8")
    metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    r2 = metrics["search_round2"]
    runs, base = r2["runs"], r2["base"]
    for run in runs:
        row = f"| {run['config']} | {run['seed']} | {run['valid_accuracy']:.4f} | {run['test_accuracy']:.4f} |"
        assert row in card, f"round-2 run {run['config']} seed {run['seed']} is not in the card's table"
        assert run["config"] in r2["configs"]
    round1 = {(r["config"], r["seed"]): r for r in metrics["search"]}
    for run in runs:  # a configuration of round 1 rerun in round 2 must reproduce its recorded numbers
        old = round1.get((run["config"], run["seed"]))
        if old:
            assert (old["valid_accuracy"], old["test_accuracy"]) == (run["valid_accuracy"], run["test_accuracy"])
    base_seed0 = next(r["valid_accuracy"] for r in metrics["search"] if r["config"] == base and r["seed"] == 0)
    base_mean = metrics["finalists"][base]["valid_accuracy"]["mean"]
    seed0 = {r["config"]: r["valid_accuracy"] for r in runs if r["seed"] == 0 and r["config"] != base}
    finalists = sorted(c for c, v in seed0.items() if v > base_seed0)
    assert sorted(r2["finalists"]) == finalists
    winners = []
    for c in finalists:
        valid = [r["valid_accuracy"] for r in runs if r["config"] == c]
        assert len(valid) >= 3, f"round-2 finalist {c} needs 3 seeds"
        assert abs(r2["finalist_mean_valid"][c] - sum(valid) / len(valid)) < 6e-5
        assert f"{r2['finalist_mean_valid'][c]:.4f}" in card
        if sum(valid) / len(valid) > base_mean:
            winners.append(c)
    shipped_config = metrics.get("shipped_config", base)
    assert (shipped_config == base) == (not winners), "round 2 changes the shipped model iff a finalist wins"
    if winners:
        assert shipped_config == max(winners, key=r2["finalist_mean_valid"].get)
    ensemble = r2["seed_ensemble"]
    assert f"{ensemble['test']['ensemble']:.4f}" in card and f"{ensemble['valid']['ensemble']:.4f}" in card
    assert abs(r2["cpu_seconds"] - sum(r["cpu_seconds"] for r in runs)) < 1


def test_lm_card_reports_epochs_baselines_and_search():
    """Issue 15: the language-model card shows every epoch (learning rate, train loss, validation perplexity),
    the n-gram baselines on the same split, and every run of the search; the shipped run is the search run with
    the lowest VALIDATION perplexity, it beats the trigram on validation and test, and it is small enough to ship."""
    folder = ASSETS / "lm"
    card = (folder / "README.md").read_text(encoding="utf-8")
    metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    for r in metrics["epochs"]:
        row = f"| {r['epoch']} | {r['learning_rate']:.3g} | {r['train_loss']:.3f} | {r['valid_ppl']:.1f} |"
        assert row in card, f"epoch {r['epoch']} is not in the card's epoch table"
    for name, b in metrics["baselines"].items():
        assert f"| {name} | {b['valid']:.1f} | {b['test']:.1f} |" in card, f"baseline {name} is not in the card"
    trigram = metrics["baselines"]["trigram"]
    assert metrics["valid_perplexity"] < trigram["valid"] and metrics["test_perplexity"] < trigram["test"]
    runs = metrics["search"]
    assert len(runs) >= 3, "the search table needs the earlier model and at least two new runs"
    for r in runs:
        row = (f"| {r['config']} | {r['seed']} | {r['best_epoch']} / {r['epochs']} | {r['valid_perplexity']:.1f} | "
               f"{r['test_perplexity']:.1f} | {r['cpu_seconds']:,.0f} |")
        assert row in card, f"search run {r['config']} is not in the card's table"
    shipped = [r for r in runs if r["config"] == metrics["search_shipped"]]
    assert len(shipped) == 1 and shipped[0]["valid_perplexity"] == metrics["valid_perplexity"]
    assert shipped[0]["command"] == metrics["command"]
    assert shipped[0]["valid_perplexity"] == min(r["valid_perplexity"] for r in runs), "ship the best VALIDATION run"
    assert abs(metrics["search_cpu_seconds"] - sum(r["cpu_seconds"] for r in runs)) < 1
    mix = metrics["trigram_mixture"]  # recomputed from the two models in tests/test_language_model.py
    assert f"| this model mixed with the trigram (below) | {mix['valid_perplexity']:.1f} | {mix['test_perplexity']:.1f} |" in card
    assert f"**w = {mix['weight']:g}: validation perplexity {mix['valid_perplexity']:.1f}, test {mix['test_perplexity']:.1f}**" in card
    size = sum(p.stat().st_size for p in folder.iterdir())
    assert size < 12e6, f"the shipped language model is {size / 1e6:.1f} MB"


def test_every_recorded_sentiment_command_parses_and_the_shipped_one_rebuilds_the_config():
    """The commands in the card are runnable: each parses with the course's own CLI, and the shipped command
    gives exactly the shipped config.json (so the card cannot show a command that trains another model)."""
    import shlex

    from rnn_course.cli import build_parser
    from rnn_course.cli.sentiment import check_train_options

    folder = ASSETS / "sentiment"
    metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    commands = {**metrics["search_configs"], **metrics["search_round2"]["configs"]}
    parser = build_parser()
    for name, command in commands.items():
        assert command.startswith("rnn-course sentiment train "), name
        check_train_options(parser.parse_args(shlex.split(command)[1:] + ["--out", "x"]))
    args = parser.parse_args(shlex.split(metrics["command"])[1:])
    shipped = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    assert check_train_options(args).to_dict() == shipped
    assert args.seed == metrics["seed"]
