"""`rnn-course doctor`: reports this machine, one stderr line per problem, exit 1 when there is one."""

import sys
import types

import pytest

from rnn_course import plotting, runtime
from rnn_course.cli import doctor


def _problems(checks):
    return [c.problem for c in checks if c.problem]


def test_this_environment_has_what_the_course_needs():
    checks = doctor.check_versions() + doctor.check_font() + doctor.check_data()
    assert not _problems(checks), _problems(checks)
    values = {c.label: c.value for c in checks}
    assert values["Chinese plot font"].startswith(plotting.find_cjk_font())
    assert values["pretrained sentiment model"] == "present, checksums match"


def test_a_damaged_model_or_an_lfs_pointer_is_a_problem(monkeypatch, tmp_path):
    import shutil

    from rnn_course import sentiment

    copy = tmp_path / "sentiment"
    shutil.copytree(sentiment.SHIPPED_MODEL, copy)
    (copy / "vocab.json").write_text("[]", encoding="utf-8")  # changed after saving
    monkeypatch.setattr(sentiment, "SHIPPED_MODEL", copy)
    problems = [p for p in _problems(doctor.check_data()) if p.startswith("pretrained sentiment model")]
    assert len(problems) == 1 and "checksum" in problems[0], problems
    pointer = tmp_path / "weights.npz"
    pointer.write_text("version https://git-lfs.github.com/spec/v1\noid sha256:0\nsize 1\n", encoding="utf-8")
    assert doctor._lfs_pointer(pointer) and not doctor._lfs_pointer(sentiment.SHIPPED_MODEL.parent / "lm" / "vocab.json")


def test_report_and_exit_code(monkeypatch, capsys):
    ok = lambda: [doctor.Check("thing", "fine")]  # noqa: E731
    monkeypatch.setattr(doctor, "CHECKS", (ok,))
    assert doctor.run_doctor(None) == 0
    out, err = capsys.readouterr()
    assert "thing" in out and "no problem found" in out and err == ""

    bad = lambda: [doctor.Check("a", "x", "a is broken"), doctor.Check("b", "y", "b is broken")]  # noqa: E731
    monkeypatch.setattr(doctor, "CHECKS", (ok, bad))
    assert doctor.run_doctor(None) == 1
    out, err = capsys.readouterr()
    assert err.splitlines() == ["rnn-course doctor: a is broken", "rnn-course doctor: b is broken"]


def test_a_crashing_check_is_a_problem_not_a_traceback(monkeypatch, capsys):
    def check_boom():
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(doctor, "CHECKS", (check_boom,))
    assert doctor.run_doctor(None) == 1
    err = capsys.readouterr().err
    assert err.strip() == "rnn-course doctor: check_boom failed: RuntimeError: boom"


def test_no_chinese_font_is_a_problem(monkeypatch):
    monkeypatch.setattr(plotting, "cjk_font_info", lambda: {"name": None, "source": None, "path": None})
    (check,) = doctor.check_font()
    assert check.problem and "pylopdf-fonts-zh-cn" in check.problem


def test_asking_for_a_missing_gpu_is_a_problem(monkeypatch):
    monkeypatch.setattr(runtime, "gpu_count", lambda: 0)
    monkeypatch.setenv(runtime.DEVICE_ENV, "gpu")
    (check,) = doctor.check_device()
    assert check.problem and "no GPU" in check.problem
    monkeypatch.setenv(runtime.DEVICE_ENV, "auto")
    (check,) = doctor.check_device()
    assert check.problem is None and check.value.startswith("cpu")


class _Spec:
    def __init__(self, argv0, resource_dir):
        self.argv = [argv0, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        self.resource_dir = str(resource_dir)


@pytest.fixture
def kernelspec(monkeypatch):
    import jupyter_client.kernelspec as ks

    def use(spec):
        monkeypatch.setattr(ks, "KernelSpecManager", lambda: types.SimpleNamespace(get_kernel_spec=lambda name: spec))

    return use


def test_kernel_of_this_environment(kernelspec, tmp_path):
    kernelspec(_Spec(sys.executable, tmp_path))
    (check,) = doctor.check_kernel()
    assert check.problem is None and "this environment" in check.value
    kernelspec(_Spec("python", f"{sys.prefix}/share/jupyter/kernels/python3"))
    (check,) = doctor.check_kernel()
    assert check.problem is None


def test_kernel_of_another_python_is_a_problem(kernelspec, tmp_path):
    kernelspec(_Spec(str(tmp_path / "elsewhere" / "python"), tmp_path))
    (check,) = doctor.check_kernel()
    assert check.problem and "not this environment" in check.problem
    kernelspec(_Spec("python", tmp_path / "kernels" / "python3"))  # a user-level spec outside this env
    (check,) = doctor.check_kernel()
    assert check.problem and "not this environment's" in check.problem


def test_missing_dependency_and_two_paddle_builds(monkeypatch):
    from importlib import metadata

    real = doctor._version
    assert doctor.check_dependencies()[0].problem is None
    fake = {"jieba": None, "paddlepaddle-gpu": "3.3.1"}
    monkeypatch.setattr(doctor, "_version", lambda name: fake[name] if name in fake else real(name))
    problems = _problems(doctor.check_dependencies())
    assert any(p.startswith("jieba is not installed") for p in problems), problems
    assert any("both paddlepaddle and paddlepaddle-gpu" in p for p in problems), problems
    assert "pytest" not in " ".join(problems)  # extras are not required to learn
    assert metadata.requires("rnn-course")


def test_readme_gpu_install_names_every_dependency():
    """The README's `--no-deps` route (keeps a preinstalled paddlepaddle-gpu) installs all the rest."""
    from pathlib import Path

    from packaging.requirements import Requirement

    tomllib = pytest.importorskip("tomllib")
    root = Path(__file__).resolve().parents[1]
    deps = {Requirement(r).name for r in tomllib.loads((root / "pyproject.toml").read_text())["project"]["dependencies"]}
    readme = (root / "README.md").read_text(encoding="utf-8").splitlines()
    at = next(i for i, line in enumerate(readme) if "pip install --no-deps -e" in line)
    words = readme[at + 1].split("pip install", 1)[1].split()
    named = {Requirement(w.strip('"')).name for w in words}
    assert deps - {"paddlepaddle"} <= named, deps - {"paddlepaddle"} - named


def test_doctor_command_is_registered(monkeypatch, capsys):
    from rnn_course.cli import main

    monkeypatch.setattr(doctor, "CHECKS", (lambda: [doctor.Check("thing", "fine")],))
    assert main(["doctor"]) == 0
    assert "thing" in capsys.readouterr().out


def test_notebooks_name_the_kernel_jupyterlab_starts():
    """JupyterLab writes the running kernel's spec into ``metadata.kernelspec`` when a notebook opens:
    a stored display_name other than the installed kernel's ("Python 3" vs "Python 3 (ipykernel)")
    marks every chapter as having unsaved changes (●) the moment it is opened."""
    import json
    from pathlib import Path

    from ipykernel.kernelspec import get_kernel_dict

    root = Path(__file__).resolve().parents[1]
    expected = {"name": "python3", "display_name": get_kernel_dict()["display_name"], "language": "python"}
    paths = [p for pattern in ("chapters/*.ipynb", "chapters/exercises/*.ipynb", "student/exercises/*.ipynb")
             for p in sorted(root.glob(pattern))]
    assert paths
    wrong = {str(p.relative_to(root)): json.loads(p.read_text(encoding="utf-8"))["metadata"].get("kernelspec")
             for p in paths}
    assert not {k: v for k, v in wrong.items() if v != expected}, expected
