"""Smoke tests of the benchmark suite (``python -m benchmarks``).

The suite runs as a subprocess started outside the repository, as CI runs it,
at the hidden ``--tiny`` size (seconds), without ``SKNN_DATA_DIR``. The tests
check the report's structure, the stand-in's labelling, the skipped-sections
message, the rule that a target is met only across its whole range, and the
command line. They never assert a timing.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SECTIONS = (
    "vectorization",
    "peers",
    "hardware",
    "devices",
    "scaling",
    "out_of_core",
    "distributed",
    "convergence",
)
CAT = re.compile(r"\bcat\b", re.IGNORECASE)
VERDICT_FIELDS = ("What", "Machine", "Data", "Noise", "Skipped", "Targets", "Findings")
STATUSES = {"met", "missed", "within noise", "not measured"}


def _run(directory, *args, hide=()):
    """Run the suite in ``directory`` at --tiny size; ``hide`` makes those modules unimportable."""
    shadow = directory / "hidden-modules"
    for name in hide:
        (shadow / name).mkdir(parents=True)
        (shadow / name / "__init__.py").write_text('raise ImportError("hidden by the test")\n')
    env = {k: v for k, v in os.environ.items() if k != "SKNN_DATA_DIR"}
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(shadow) if hide else "", str(REPO), os.environ.get("PYTHONPATH")])
    )
    output = directory / "report"
    command = [sys.executable, "-m", "benchmarks", "--tiny", "--json", "--output", str(output)]
    process = subprocess.run(
        command + list(args), cwd=directory, env=env, capture_output=True, text=True, timeout=300
    )
    assert process.returncode == 0, process.stderr
    report = (output / "report.md").read_text(encoding="utf-8")
    results = json.loads((output / "results.json").read_text(encoding="utf-8"))
    return process, output, report, results


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The whole suite, once: (process, output directory, report text, results)."""
    return _run(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="module")
def without_extras(tmp_path_factory):
    """The two optional sections with PyTorch and Dask made unimportable."""
    directory = tmp_path_factory.mktemp("without-extras")
    return _run(
        directory, "--sections", "devices,distributed", hide=("torch", "dask", "distributed")
    )


def _verdict(report):
    assert report.startswith("# sknn benchmark report\n\n## Verdict\n")
    head = report.split("\n## ")[1]
    return [line for line in head.splitlines()[1:] if line.strip()]


def _strings(value):
    """Every string of a JSON value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def test_every_section_runs_and_reports_progress(tiny):
    process, _, report, results = tiny
    assert list(results["sections"]) == list(SECTIONS)
    for name in SECTIONS:
        assert f"{name}: start" in process.stderr and f"{name}: done" in process.stderr
        assert results["sections"][name]["error"] is None
    assert re.search(r"^\[\s*[\d.]+ s\] ", process.stderr, re.M)
    assert "Report:" in process.stdout
    assert "This section failed" not in report


def test_verdict_bullets_all_have_content(tiny):
    _, _, report, results = tiny
    lines = _verdict(report)
    bullets = [line for line in lines if line.startswith("- **")]
    assert [re.match(r"- \*\*(\w+)\*\*", line)[1] for line in bullets] == list(VERDICT_FIELDS)
    for line in bullets[:-1]:
        assert len(line.split("**: ", 1)[1]) > 10, line
    findings = [line for line in lines if line.startswith("  - *")]
    assert [re.match(r"  - \*(\w+)\*: ", line)[1] for line in findings] == list(SECTIONS)
    for line in findings:
        assert len(line.split("*: ", 1)[1]) > 20, line
    for section in results["sections"].values():
        assert section["summary"] or section["skipped"]
    for library in ("numpy", "scipy", "scikit-learn", "openblas", "cores"):
        assert library in lines[1], lines[1]


def test_no_table_is_printed_twice_and_no_time_is_negative(tiny):
    _, _, report, _ = tiny
    titles = re.findall(r"^### (.+)$", report, re.M)
    assert len([t for t in titles if t != "Targets"]) == len(set(titles) - {"Targets"})
    assert "Where the epoch goes" not in report
    assert not re.search(r"\| -[\d.]+ (s|ms|µs) ", report)


def test_the_stand_in_is_labelled_wherever_the_cat_data_is_named(tiny):
    _, output, report, results = tiny
    assert "cat-shaped generated stand-in (40 x 300)" in report
    named = [line for line in report.splitlines() if CAT.search(line)]
    named += [text for text in _strings(results) if CAT.search(text)]
    assert named
    assert [text for text in named if "stand-in" not in text] == []


def test_plots_are_written_and_linked(tiny):
    _, output, report, results = tiny
    linked = re.findall(r"\]\(([^)\s]+\.png)\)", report)
    assert len(set(linked)) >= 4
    for name in linked:
        assert (output / name).read_bytes().startswith(b"\x89PNG")
    assert sorted(linked) == sorted(f for s in results["sections"].values() for f in s["figures"])


def test_targets_follow_the_range_rule_in_the_report(tiny):
    _, _, report, results = tiny
    assert results["targets"]
    for target in results["targets"]:
        if target["not_measured"]:
            assert target["status"] == "not measured"
            continue
        threshold, comparison = target["threshold"], target["comparison"]
        ends = target["range"] or [target["measured"]] * 2
        ok = [v <= threshold if comparison == "<=" else v >= threshold for v in ends]
        assert target["status"] == (
            "met" if all(ok) else "missed" if not any(ok) else "within noise"
        )
    assert "MET (" not in report


def test_skipped_sections_say_why_and_how(without_extras):
    process, _, report, results = without_extras
    for name, command in (
        ("devices", "pip install torch==2.13.0"),
        ("distributed", 'pip install -e ".[bench,dask]"'),
    ):
        section = results["sections"][name]
        assert section["skipped"] and command in section["command"]
        assert f"{name}: SKIPPED" in process.stderr and command in process.stderr
        assert f"SKIPPED section {name}" in process.stdout
        assert f"*{name}*: " in report and command in report
    (skipped,) = [line for line in _verdict(report) if line.startswith("- **Skipped**:")]
    assert "devices" in skipped and "distributed" in skipped and "python -m benchmarks" in skipped


@pytest.fixture
def core():
    sys.path.insert(0, str(REPO))
    try:
        from benchmarks import _core

        yield _core
    finally:
        sys.path.remove(str(REPO))


@pytest.mark.parametrize(
    "comparison, low, high, status",
    [
        ("<=", 0.56, 0.9, "met"),
        ("<=", 0.56, 1.42, "within noise"),
        ("<=", 1.1, 1.42, "missed"),
        (">=", 1.9, 2.2, "met"),
        (">=", 1.7, 1.9, "within noise"),
        (">=", 1.2, 1.7, "missed"),
    ],
)
def test_a_target_is_met_only_across_its_whole_range(core, comparison, low, high, status):
    threshold = 1.0 if comparison == "<=" else 1.8
    target = core.Target("t", (low + high) / 2, threshold, comparison, low, high)
    assert target.status == status
    assert core.Target("t", low, threshold, comparison).status in {"met", "missed"}
    assert core.Target("t", 1.0, 1.0, "<=", not_measured="too small").status == "not measured"


def test_formatting_of_ranges_and_ratios(core):
    comparison = core.compare([2.0, 3.0, 4.0], [1.0, 2.0, 1.0])
    assert comparison["ratio"] == 3.0 and comparison["range"] == (1.5, 4.0)
    assert core.pair(comparison) == "3 s vs 1 s = 3x (1.5x – 4x)"
    assert core.fmt((0.5, 0.5), "ratio") == "0.5x"
    assert core.fmt(None) == "—"


def test_command_line(core, capsys):
    from benchmarks import __main__ as cli

    assert cli.main(["--list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in listed] == list(SECTIONS)
    with pytest.raises(SystemExit) as exit_help:
        cli.parse_args(["--help"])
    assert exit_help.value.code == 0
    helped = capsys.readouterr().out
    for option in ("--full", "--quick", "--sections", "--list", "--json", "--output"):
        assert option in helped
    assert "--tiny" not in helped and "SKNN_DATA_DIR" in helped
    assert cli.parse_args(["--sections", "peers, scaling"]).sections == ["peers", "scaling"]
    for wrong in (["--sections", "nonsense"], ["--quick", "--full"]):
        with pytest.raises(SystemExit) as exit_error:
            cli.parse_args(wrong)
        assert exit_error.value.code == 2


def test_compare_runs_both_checkouts_and_leaves_out_the_cat_images_without_the_files():
    env = {k: v for k, v in os.environ.items() if k != "SKNN_DATA_DIR"}
    args = [sys.executable, "-m", "benchmarks.compare", ".", ".", "--cases", "bc:lr,cat:sm"]
    done = subprocess.run(
        [*args, "--rounds", "1"], cwd=REPO, capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "left out cat:sm: set SKNN_DATA_DIR to the course's files"
    # The same checkout twice: the same iterations and stop reasons.
    assert re.fullmatch(
        r"bc:lr +[\d.]+ ms vs +[\d.]+ ms = [\d.]+x \([\d.]+x - [\d.]+x\), "
        r"iterations (\d+) vs \1, converged vs converged",
        lines[1],
    ), lines
    assert len(lines) == 2
