"""environment.yml, pyproject.toml, Makefile, .ci/run and the README agree with each other."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

tomllib = pytest.importorskip("tomllib")  # Python 3.11+
ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _names(requirements):
    return {Requirement(r).name.lower().replace("_", "-") for r in requirements}


def test_environment_yml_matches_pyproject():
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    deps = env["dependencies"]
    python = next(d for d in deps if isinstance(d, str) and d.startswith("python"))
    version = python.split("=", 1)[1]
    assert version in SpecifierSet(PYPROJECT["project"]["requires-python"]), python
    pip = next(d["pip"] for d in deps if isinstance(d, dict))
    installs = [p for p in pip if p.startswith("-e")]
    assert installs, "environment.yml must install the package itself with pip"
    extras = set(re.findall(r"\[(.*?)\]", installs[0])[0].split(","))
    assert extras <= set(PYPROJECT["project"]["optional-dependencies"]), extras
    assert "dev" in extras
    # Any package environment.yml names directly must be declared in pyproject.toml too.
    declared = _names(PYPROJECT["project"]["dependencies"])
    for extra in PYPROJECT["project"]["optional-dependencies"].values():
        declared |= _names(extra)
    conda_pkgs = {re.split(r"[=<>]", d)[0] for d in deps if isinstance(d, str)} - {"python", "pip"}
    listed = _names([p for p in pip if not p.startswith("-")]) | conda_pkgs
    assert listed <= declared, listed - declared


def test_required_dependencies_declared():
    deps = _names(PYPROJECT["project"]["dependencies"])
    assert {"paddlepaddle", "numpy", "matplotlib", "jupyter", "snownlp", "jieba", "scikit-learn"} <= deps
    dev = PYPROJECT["project"]["optional-dependencies"]["dev"]
    assert {"pytest", "nbval", "ruff", "nbgrader"} <= _names(dev)
    assert any(r.startswith("ruff==") for r in dev), "ruff must be pinned"
    assert PYPROJECT["tool"]["ruff"]["lint"]["select"], "ruff needs an explicit rule selection"
    assert PYPROJECT["project"]["scripts"]["rnn-course"] == "rnn_course.cli:main"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in readme and "make tour" in readme
    assert re.search(r"^make test\b", ci, re.M), ".ci/run must call the README's test command"


def test_ruff_is_clean():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "src", "tests"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
