"""The README: its Python example runs, its layout is what CI reads, its links exist."""

import contextlib
import io
import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def _blocks(text, language):
    return re.findall(rf"^```{language}\n(.*?)^```$", text, flags=re.M | re.S)


def test_python_example_runs():
    code = _blocks(README.read_text(encoding="utf-8"), "python")[0]
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        exec(compile(code, "README.md", "exec"), {"__name__": "readme"})
    lines = output.getvalue().splitlines()
    assert [line.split()[0] for line in lines] == ["LogisticRegressionGD", "ShallowNNClassifier"]
    assert all(float(line.split()[1]) > 0.9 for line in lines)  # test accuracy


def test_layout():
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 150
    commands = _blocks(text, "bash")[0].splitlines()
    assert 'pip install -e ".[bench]" && python -m benchmarks' in commands[0]
    assert 'pip install -e ".[test]" && SCIPY_ARRAY_API=1 python -m pytest' in commands[1]


def test_relative_links_exist():
    targets = re.findall(r"\]\(([^)#\s]+)\)", README.read_text(encoding="utf-8"))
    local = [target for target in targets if not re.match(r"[a-z]+://", target)]
    assert local
    missing = [target for target in local if not (README.parent / target).exists()]
    assert not missing
