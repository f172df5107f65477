"""Smoke tests of the benchmark suite (``python -m benchmarks``).

The suite runs once, as a subprocess started outside the repository (as CI
runs it), on the hidden ``--tiny`` configuration (a few seconds). The tests
check that the report and the JSON hold the expected tables, targets and keys;
they never assert a timing. The cat files are hidden from the run so the
stand-in path is used.
"""

import importlib.util
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SECTIONS = ("vectorization", "peers", "hardware", "scaling", "out_of_core")

TABLES = {
    "vectorization": [
        "Time per gradient-descent iteration",
        "Same loss from loops and vectorized code",
    ],
    "peers": ["Defaults: test accuracy and fit time", "Matched work: time per epoch"],
    "hardware": ["Throughput", "Where the epoch goes"],
    "scaling": [
        "Full-batch epoch as n_samples grows",
        "Network epoch as n_features and hidden size grow",
        "Peak memory allocated by a one-epoch fit, beyond X",
    ],
    "out_of_core": [
        "Generated HDF5 files",
        "Out-of-core training: throughput and held-out accuracy",
        "Peak memory of the training process",
    ],
}

TARGET_KEYS = {
    "name",
    "measured",
    "threshold",
    "comparison",
    "met",
    "margin",
    "detail",
    "not_measured",
}
CAT = re.compile(r"\bcat\b", re.IGNORECASE)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """Run the whole suite once in --tiny mode; return (process, output directory)."""
    root = tmp_path_factory.mktemp("bench")
    output = root / "report"
    env = {
        **os.environ,
        "SKNN_DATA_DIR": str(root / "no-cat-data-here"),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    process = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks",
            "--quick",
            "--tiny",
            "--json",
            "--sections",
            ",".join(SECTIONS),
            "--output",
            str(output),
        ],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert process.returncode == 0, process.stderr
    return process, output


@pytest.fixture(scope="module")
def results(tiny_run):
    return json.loads((tiny_run[1] / "results.json").read_text())


@pytest.fixture(scope="module")
def report(tiny_run):
    return (tiny_run[1] / "report.md").read_text()


@pytest.fixture
def cli(monkeypatch):
    """The CLI module, imported in-process from the repository root."""
    monkeypatch.syspath_prepend(str(REPO))
    from benchmarks import __main__ as cli_module

    return cli_module


def test_progress_on_stderr_and_summary_on_stdout(tiny_run):
    process, _ = tiny_run
    for name in SECTIONS:
        assert f"{name}: start" in process.stderr
        assert f"{name}: done" in process.stderr
    assert "Report:" in process.stdout
    assert "MET" in process.stdout or "MISSED" in process.stdout


def test_report_opens_with_a_verdict(report):
    head, _, rest = report.partition("## The run and the machine")
    assert head.startswith("# sknn benchmark report\n\n## Verdict\n")
    for field in ("**What**", "**Noise**", "**Targets**", "**What it means**"):
        assert field in head
    for name in SECTIONS:
        assert f"*{name}*:" in head
    assert "## Targets:" in rest


def test_report_header_describes_the_machine(report):
    for field in ("**Measured**", "**Machine**", "**BLAS**", "**Versions**", "**Cat data**"):
        assert field in report
    for library in ("numpy", "scipy", "scikit-learn"):
        assert library in report
    assert "cores" in report


def test_report_has_every_section_table_and_target(report):
    assert "## Targets:" in report
    for name, titles in TABLES.items():
        for title in titles:
            assert f"### {title}" in report, (name, title)
    assert report.count("### Targets") == len(SECTIONS)
    assert "MET (" in report or "MISSED (" in report
    # Both BLAS settings are named in the peer comparison.
    assert "BLAS limited to 1 thread" in report
    assert "BLAS default" in report


def _strings(value):
    """Every string in a JSON value, dictionary keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def test_the_stand_in_is_never_called_cat(report, results):
    assert "cat-shaped generated stand-in (40 x 300)" in report
    unlabelled = [line for line in report.splitlines() if CAT.search(line)]
    assert unlabelled and all("stand-in" in line for line in unlabelled)
    texts = [t for t in _strings(results) if CAT.search(t)]
    assert texts and all("stand-in" in t for t in texts), [t for t in texts if "stand-in" not in t]
    assert set(results["sections"]["peers"]["data"]["loss_curves"]) == {"breast_cancer (426 x 30)"}


def test_targets_a_small_run_cannot_meet_are_not_measured(report, results):
    (target,) = [t for t in results["targets"] if t["name"].startswith("peak memory")]
    assert target["met"] is None and target["margin"] is None
    assert "in --tiny" in target["not_measured"]
    row = next(line for line in report.splitlines() if line.startswith("| peak memory"))
    assert "not measured" in row and "MISSED" not in row


def test_plots_are_written_and_linked(tiny_run, report, results):
    _, output = tiny_run
    figures = [f for s in results["sections"].values() for f in s["figures"]]
    assert set(figures) == {
        "vectorization_speedup.png",
        "loss_curves.png",
        "scaling.png",
        "out_of_core_memory.png",
    }
    for figure in figures:
        assert (output / figure).read_bytes().startswith(b"\x89PNG")
        assert f"]({figure})" in report


def test_json_has_machine_run_targets_and_sections(results):
    assert set(results) == {"machine", "run", "targets", "sections"}
    machine = results["machine"]
    for key in ("date", "cpu_model", "logical_cores", "threadpools", "versions"):
        assert key in machine
    assert {"numpy", "scipy", "scikit-learn"} <= set(machine["versions"])
    assert results["run"]["mode"] == "tiny"
    assert list(results["sections"]) == list(SECTIONS)


def test_json_targets(results):
    targets = results["targets"]
    for target in targets:
        assert set(target) == TARGET_KEYS
        assert target["comparison"] in (">=", "<=")
        assert isinstance(target["met"], bool) or target["not_measured"]
    names = " ".join(t["name"] for t in targets)
    for fragment in (
        "speed-up over the loops",
        "MLPClassifier per epoch, full-batch GD",
        "MLPClassifier per epoch, Adam, batch 200",
        "epoch / its five GEMMs",
        "float32 speed-up",
        "per-sample epoch time",
        "peak memory of out-of-core training ÷ HDF5 file size",
        "out-of-core peak RSS increase, full file ÷ half-size file",
    ):
        assert fragment in names
    thresholds = {t["threshold"] for t in targets}
    assert {300.0, 0.9, 0.75, 1.1, 1.8, 1.5, 0.25, 1.25} <= thresholds


def test_json_tables_hold_every_column(results):
    for name, titles in TABLES.items():
        section = results["sections"][name]
        assert section["error"] is None
        assert len(section["tables"]) == len(titles)
        for table, title in zip(section["tables"], titles, strict=True):
            assert table["title"].startswith(title)
        for table in section["tables"]:
            assert table["rows"], table["title"]
            for row in table["rows"]:
                assert set(row) <= set(table["columns"])


def test_each_ratio_is_computed_from_the_figures_beside_it(results):
    matched = results["sections"]["peers"]["tables"][1]["rows"]
    for row in matched:
        assert row["ratio"] == pytest.approx(row["sknn_seconds"] / row["mlp_seconds"])
        low, high = row["ratio_range"]
        assert low <= high
    throughput = results["sections"]["hardware"]["tables"][0]["rows"]
    for row in throughput:
        assert row["epoch_over_gemms"] == pytest.approx(row["epoch_seconds"] / row["gemms_seconds"])
    for row in results["sections"]["vectorization"]["tables"][0]["rows"]:
        assert row["speedup"] == pytest.approx(row["loop_seconds"] / row["vectorized_seconds"])


def test_sections_timing_the_same_epoch_are_cross_checked(report):
    # --tiny's matched-work problem is also a point of the scaling section's shape sweep.
    _, _, checks = report.partition("## Cross-checks")
    assert checks
    assert "| peers |" in checks and "| scaling |" in checks


def test_loops_and_vectorized_code_agree_on_the_loss(results):
    timing, losses = results["sections"]["vectorization"]["tables"]
    assert {"loop_seconds", "vectorized_seconds", "speedup"} <= set(timing["rows"][0])
    for row in losses["rows"]:
        tolerance = 1e-6 if row["dtype"] == "float32" else 1e-10
        assert row["initial_diff"] < tolerance
        if row["dtype"] == "float64":
            assert row["fitted_diff"] < 1e-10


def test_out_of_core_trains_on_both_files_in_bounded_memory(tiny_run, results):
    process, _ = tiny_run
    assert "out_of_core: writing the full file" in process.stderr
    assert "ShallowNNClassifier, half file: epoch 1/1" in process.stderr
    section = results["sections"]["out_of_core"]
    files, throughput, memory = section["tables"]
    assert [row["file"] for row in files["rows"]] == ["full", "half"]
    full, half = files["rows"]
    assert full["n_rows"] == 2 * half["n_rows"]
    assert full["file_bytes"] >= full["x_bytes"] > half["x_bytes"]
    models = {"SoftmaxGD", "ShallowNNClassifier"}
    for table in (throughput, memory):
        assert {(row["model"], row["file"]) for row in table["rows"]} == {
            (model, file) for model in models for file in ("full", "half")
        }
    n_rows = {row["file"]: row["n_rows"] for row in files["rows"]}
    for row in throughput["rows"]:
        assert row["rows_trained"] == row["epochs"] * n_rows[row["file"]]
        assert row["rows_per_second"] > 0
        assert 0.0 <= row["accuracy"] <= 1.0
    for row in memory["rows"]:
        assert 0 < row["baseline"] <= row["peak"]
        assert row["increase"] == row["peak"] - row["baseline"]
        assert row["peak_over_file"] == pytest.approx(row["peak"] / row["file_bytes"])
    runs = section["data"]["runs"]
    assert set(runs) == {f"{m}|{f}" for m in models for f in ("full", "half")}
    for run in runs.values():
        assert {"trace", "epoch_seconds", "read_seconds", "fit_seconds", "ru_maxrss"} <= set(run)


def test_out_of_core_cleans_up_its_temporary_directory(cli, tmp_path, monkeypatch):
    from benchmarks import out_of_core
    from benchmarks._config import Config

    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(out_of_core.tempfile, "tempdir", None)  # re-read TMPDIR
    monkeypatch.setitem(
        out_of_core.SIZES,
        "tiny",
        dict(n_rows=200, n_features=20, chunk_rows=50, epochs=1, n_test=50),
    )
    # One model: each training run is a Python process of its own.
    monkeypatch.setattr(out_of_core, "MODELS", {"SoftmaxGD": out_of_core.MODELS["SoftmaxGD"]})
    section = out_of_core.run(Config(mode="tiny", verbose=False))
    assert len(section.tables) == 3
    assert list(tmp_path.iterdir()) == []


def test_list_and_bad_sections(cli, capsys):
    assert cli.main(["--list"]) == 0
    listed = capsys.readouterr().out
    for name in SECTIONS + ("devices", "convergence"):
        assert name in listed
    with pytest.raises(SystemExit) as exit_info:
        cli.parse_args(["--sections", "vectorization,nonsense"])
    assert exit_info.value.code == 2
    assert "nonsense" in capsys.readouterr().err


def test_report_without_matplotlib(cli, tmp_path, monkeypatch):
    from benchmarks._render import write_report
    from benchmarks._report import Figure, Section

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    section = Section("demo", "Demo", "intro")
    section.figures.append(Figure("demo.png", "a plot", lambda figure: None))
    run = {
        "mode": "tiny",
        "command": "test",
        "cat_source": "none",
        "cat_data": "none",
        "duration": 0.0,
    }
    paths = write_report([section], run, tmp_path, write_json=True)
    assert [p.name for p in paths] == ["report.md", "results.json"]
    assert "matplotlib is not installed" in (tmp_path / "report.md").read_text()
    assert not (tmp_path / "demo.png").exists()


def test_progress_is_throttled_and_never_silent_for_long(cli, capsys, monkeypatch):
    from benchmarks import _config

    monkeypatch.setattr(_config, "HEARTBEAT_SECONDS", 0.5)
    config = _config.Config(mode="tiny")
    config.progress("first")
    for i in range(100):
        config.tick(f"burst {i}")  # within TICK_SECONDS of "first": all swallowed
    with config.heartbeat():
        time.sleep(1.6)
    lines = capsys.readouterr().err.splitlines()
    assert "first" in lines[0]
    assert not any("burst" in line for line in lines)
    assert any("still running" in line and "first" in line for line in lines[1:])


def test_course_files_are_used_only_when_sknn_data_dir_names_them(cli, tmp_path, monkeypatch):
    from benchmarks import _data
    from benchmarks._config import Config

    monkeypatch.delenv("SKNN_DATA_DIR", raising=False)
    assert Config(mode="quick").data_dir is None
    assert "SKNN_DATA_DIR is not set" in _data.cat_source(Config(mode="quick"))
    monkeypatch.setenv("SKNN_DATA_DIR", str(tmp_path))
    assert "not found" in _data.cat_source(Config(mode="quick"))
    for name in _data.CAT_FILES:
        (tmp_path / name).touch()
    assert _data.has_course_files(Config(mode="quick"))
    assert not _data.has_course_files(Config(mode="tiny"))  # --tiny never reads them


def test_help_says_how_to_use_the_course_files(cli, capsys):
    with pytest.raises(SystemExit):
        cli.parse_args(["--help"])
    assert "SKNN_DATA_DIR" in capsys.readouterr().out


# ------------------------------------------------------- section convergence
# Run on its own: the shared --tiny run above keeps its own section list.
CONVERGENCE_TABLES = [
    "Default fit (only random_state set) against LogisticRegression",
    "Time to a 1e-06 relative gap",
    "Relative gap against fit time, every method",
    "Where the default fit's time goes",
]


@pytest.fixture(scope="module")
def convergence_run(tmp_path_factory):
    """``--tiny --sections convergence`` once; return (process, report text, results)."""
    output = tmp_path_factory.mktemp("convergence")
    process = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--tiny", "--json", "--sections", "convergence"]
        + ["--output", str(output)],
        cwd=REPO,
        env={**os.environ, "SKNN_DATA_DIR": str(output / "no-cat-data-here")},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert process.returncode == 0, process.stderr
    report = (output / "report.md").read_text()
    return process, output, report, json.loads((output / "results.json").read_text())


def test_convergence_section_tables_targets_and_plot(convergence_run):
    process, output, report, results = convergence_run
    assert "convergence: done" in process.stderr
    section = results["sections"]["convergence"]
    assert section["error"] is None
    for table, title in zip(section["tables"], CONVERGENCE_TABLES, strict=True):
        assert table["title"].startswith(title)
        assert f"### {table['title']}" in report
        assert table["rows"], title
        for row in table["rows"]:
            assert set(row) <= set(table["columns"])
    names = [t["name"] for t in results["targets"]]
    assert any(n.startswith("default fit time / LogisticRegression's") for n in names)
    assert all("BLAS limited to 1 thread" in n for n in names)
    assert {t["threshold"] for t in results["targets"]} == {3.0}
    assert section["figures"] == ["convergence_breast_cancer.png"]
    assert (output / "convergence_breast_cancer.png").read_bytes().startswith(b"\x89PNG")
    assert "](convergence_breast_cancer.png)" in report


def test_convergence_measures_gaps_against_an_exact_minimum(convergence_run):
    _, _, _, results = convergence_run
    problems = results["sections"]["convergence"]["data"]["problems"]
    assert set(problems) == {"breast_cancer|LogisticRegressionGD", "breast_cancer|SoftmaxGD"}
    for problem in problems.values():
        # J* is certified by the gradient at the minimiser.
        assert problem["minimum"]["bound"] < 1e-10
        curves = problem["curves"]
        assert {"gd (step 1/L)", "momentum (1/L)", "adam (0.01)"} < set(curves)
        assert any(label.startswith("lbfgs") for label in curves)
        for points in curves.values():
            assert [p["max_iter"] for p in points] == sorted({p["max_iter"] for p in points})
            # No method gets measurably below the minimum: same objective on both sides.
            assert all(p["gap"] > -1e-9 and p["seconds"] > 0 for p in points)
        assert problem["default"]["stop_reason"] == "converged"
        assert problem["iterations_to_gap"]["sknn"] >= 1
        assert problem["iterations_to_gap"]["lbfgs"] >= 1
        assert problem["evaluations"]["loss_grads"] == problem["default"]["n_iter"]


# ----------------------------------------------------------- section devices
# Run on its own too. PyTorch is optional: without it the section says so.
HAS_TORCH = importlib.util.find_spec("torch") is not None
needs_torch = pytest.mark.skipif(
    not HAS_TORCH, reason="PyTorch is not installed (pip install torch)"
)
DEVICES_TABLES = [
    "Network epoch and its five GEMMs per device",
    "PyTorch against NumPy: the same work on each device",
    "Linear fit: SoftmaxGD with its defaults, and whether the devices agree",
    "The five products one by one, per device",
]


@pytest.fixture(scope="module")
def devices_run(tmp_path_factory):
    """``--tiny --sections devices`` once; return (process, output, report text, results)."""
    output = tmp_path_factory.mktemp("devices")
    env = {**os.environ, "SKNN_DATA_DIR": str(output / "no-cat-data-here")}
    env.pop("SCIPY_ARRAY_API", None)  # python -m benchmarks sets it itself
    process = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--tiny", "--json", "--sections", "devices"]
        + ["--output", str(output)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert process.returncode == 0, process.stderr
    report = (output / "report.md").read_text()
    return process, output, report, json.loads((output / "results.json").read_text())


@needs_torch
def test_devices_section_tables_targets_and_plot(devices_run):
    process, output, report, results = devices_run
    assert "devices: done" in process.stderr
    section = results["sections"]["devices"]
    assert section["error"] is None
    assert len(section["tables"]) == len(DEVICES_TABLES)
    for table, title in zip(section["tables"], DEVICES_TABLES, strict=True):
        assert table["title"].startswith(title)
        assert f"### {table['title']}" in report
        assert table["rows"], title
        for row in table["rows"]:
            assert set(row) <= set(table["columns"])
    devices = {row["device"] for row in section["tables"][0]["rows"]}
    assert {"NumPy", "PyTorch CPU"} <= devices
    assert {row["dtype"] for row in section["tables"][0]["rows"]} == {"float64", "float32"}
    names = [t["name"] for t in results["targets"]]
    assert "network epoch / its five GEMMs on PyTorch CPU, float64" in names
    assert all(set(t) == TARGET_KEYS for t in results["targets"])
    assert section["figures"] == ["devices.png"]
    assert (output / "devices.png").read_bytes().startswith(b"\x89PNG")
    assert "](devices.png)" in report
    data = section["data"]
    assert {"torch", "cuda", "threads", "samples", "per_product", "linear_agreement"} <= set(data)
    assert data["torch"]["available"] is True
    assert data["threads"]["blas"] == data["threads"]["torch"] == 1
    for key in ("numpy|float64|epoch", "torch_cpu|float32|gemms", "torch_cpu|float64|epoch"):
        assert key in data["samples"]
    # The NumPy epoch at one BLAS thread is a quantity the other sections can cross-check.
    assert "BLAS limited to 1 thread" in report


@needs_torch
def test_devices_ratios_are_computed_from_the_figures_beside_them(devices_run):
    tables = devices_run[3]["sections"]["devices"]["tables"]
    for row in tables[0]["rows"]:
        assert row["epoch_over_gemms"] == pytest.approx(row["epoch_seconds"] / row["gemms_seconds"])
    for row in tables[1]["rows"]:
        assert row["ratio"] == pytest.approx(row["device_seconds"] / row["numpy_seconds"])
        low, high = row["ratio_range"]
        assert low <= high


@needs_torch
def test_devices_linear_fits_agree(devices_run):
    section = devices_run[3]["sections"]["devices"]
    rows = section["tables"][2]["rows"]
    assert {row["device"] for row in rows} >= {"NumPy", "PyTorch CPU"}
    for row in rows:
        assert row["same_n_iter"] == "yes"
        assert row["max_abs_proba_diff"] < 1e-10  # float64 on every device
    for found in section["data"]["linear_agreement"].values():
        assert found["n_iter"] == found["numpy_n_iter"]


@needs_torch
def test_devices_says_when_there_is_no_cuda(devices_run):
    import torch

    _, _, report, results = devices_run
    cuda = results["sections"]["devices"]["data"]["cuda"]
    if torch.cuda.is_available():
        assert cuda["available"] is True
        assert "PyTorch CUDA" in report
    else:
        from benchmarks.devices import CUDA_ABSENT

        assert cuda == {"available": False, "status": CUDA_ABSENT}
        assert CUDA_ABSENT in report
        assert "| PyTorch CUDA" not in report


def test_devices_without_torch_says_so_and_renders(cli, tmp_path, monkeypatch):
    from benchmarks import devices
    from benchmarks._config import Config
    from benchmarks._render import write_report

    monkeypatch.setitem(sys.modules, "torch", None)  # import torch raises ImportError
    section = devices.run(Config(mode="tiny", verbose=False))
    assert section.error == "" and not section.tables and not section.figures
    assert "pip install torch" in section.summary and "not installed" in section.summary
    assert section.data["torch"]["available"] is False
    run = {"mode": "tiny", "command": "test", "cat_source": "-", "cat_data": "-", "duration": 0.0}
    write_report([section], run, tmp_path, write_json=True)
    report = (tmp_path / "report.md").read_text()
    assert "PyTorch is not installed" in report and "pip install torch" in report
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["sections"]["devices"]["data"]["torch"]["available"] is False


@needs_torch
def test_devices_without_scipy_array_api_says_so(cli, monkeypatch):
    from benchmarks import devices
    from benchmarks._config import Config

    monkeypatch.setenv("SCIPY_ARRAY_API", "0")
    section = devices.run(Config(mode="tiny", verbose=False))
    assert "SCIPY_ARRAY_API" in section.summary and not section.tables
