"""What a section returns, the machine it ran on, and the report files.

A section's numbers are kept raw (seconds, ratios, bytes) in its tables and
formatted only when the markdown is written, so ``results.json`` holds every
figure at full precision. Plots are drawn by callables the sections attach;
matplotlib is imported here, lazily, and the report says so when it is
missing.
"""

import datetime
import json
import math
import os
import platform
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from threadpoolctl import threadpool_info

from ._config import REPO_ROOT


@dataclass
class Column:
    """One table column: the key of its values in each row, a label and a format.

    ``kind`` is one of 'text', 'int', 'seconds', 'ratio', 'range' (a
    (low, high) pair of ratios), 'float', 'loss', 'sci', 'percent',
    'accuracy', 'gflops', 'bytes'.
    """

    key: str
    label: str
    kind: str = "text"


@dataclass
class Table:
    """A markdown table: rows are dicts keyed by the columns' keys."""

    title: str
    columns: list
    rows: list = field(default_factory=list)
    notes: list = field(default_factory=list)


@dataclass
class Target:
    """A performance target from the issue and the value measured against it.

    Parameters
    ----------
    name : str
    measured : float
    threshold : float
    comparison : {'>=', '<='}
        The measured value meets the target when ``measured comparison threshold``.
    detail : str
        How ``measured`` was obtained.
    not_measured : str
        Why this run cannot test the target by construction (a --quick run's
        problem is too small for it), or "" when it can. Such a target is
        reported as not measured, never as MISSED.
    """

    name: str
    measured: float
    threshold: float
    comparison: str
    detail: str = ""
    not_measured: str = ""

    @property
    def met(self):
        """True or False; None when this run does not measure the target."""
        if self.not_measured:
            return None
        if self.comparison == ">=":
            return self.measured >= self.threshold
        return self.measured <= self.threshold

    @property
    def margin(self):
        """Relative distance inside (+) or outside (-) the target; None if not measured."""
        if self.not_measured:
            return None
        if self.comparison == ">=":
            return self.measured / self.threshold - 1.0
        return self.threshold / self.measured - 1.0

    @property
    def status(self):
        if self.not_measured:
            return "not measured"
        return f"{'MET' if self.met else 'MISSED'} ({self.margin:+.0%})"

    def as_dict(self):
        return {
            "name": self.name,
            "measured": self.measured,
            "threshold": self.threshold,
            "comparison": self.comparison,
            "met": self.met,
            "margin": self.margin,
            "detail": self.detail,
            "not_measured": self.not_measured or None,
        }


@dataclass
class Figure:
    """A plot: ``draw(figure)`` fills a ``matplotlib.figure.Figure``."""

    filename: str
    caption: str
    draw: object
    size: tuple = (7.0, 4.0)
    written: bool = False


@dataclass
class Section:
    """Everything one benchmark section measured.

    ``summary`` is the section's one-sentence finding for the report's
    verdict. ``cross_checks`` maps a description of a quantity that other
    sections measure too (see :func:`cross_check_key`) to
    ``{"median": seconds, "range": (low, high)}``; the report puts the
    sections' figures for one quantity side by side.
    """

    name: str
    title: str
    intro: str
    tables: list = field(default_factory=list)
    targets: list = field(default_factory=list)
    figures: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    data: dict = field(default_factory=dict)
    summary: str = ""
    cross_checks: dict = field(default_factory=dict)
    error: str = ""
    load: dict = None


def cross_check_key(dtype, n_threads_label, shape, hidden):
    """The quantity several sections measure: the network's full-batch epoch on one problem."""
    m, n, k = shape
    return (
        f"full-batch epoch of the {hidden}-unit tanh network, {m} x {n}, {k} classes, "
        f"{dtype}, {n_threads_label}"
    )


# --------------------------------------------------------------- the machine
def machine_info():
    """Cores, CPU, memory, BLAS, library versions, sknn commit and date.

    Returns
    -------
    info : dict
    """
    import numpy
    import scipy
    import sklearn
    import threadpoolctl

    import sknn

    versions = {
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "scikit-learn": sklearn.__version__,
        "threadpoolctl": threadpoolctl.__version__,
        "sknn": sknn.__version__,
    }
    try:
        import matplotlib

        versions["matplotlib"] = matplotlib.__version__
    except ImportError:
        versions["matplotlib"] = None
    pools = [
        {
            "library": os.path.basename(pool.get("filepath", "")),
            "internal_api": pool.get("internal_api"),
            "user_api": pool.get("user_api"),
            "version": pool.get("version"),
            "architecture": pool.get("architecture"),
            "num_threads": pool.get("num_threads"),
        }
        for pool in threadpool_info()
    ]
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "cpu_model": _cpu_model(),
        "logical_cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "memory_bytes": _memory_bytes(),
        "platform": platform.platform(),
        "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"),
        "threadpools": pools,
        "versions": versions,
        "sknn_commit": _git_commit(),
    }


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_bytes():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _git_commit():
    """HEAD of the repository, marked '+dirty' when sknn/ has local changes.

    "unknown" outside a git checkout (CI's scratch copy of the repository).
    """
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "sknn"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


# ---------------------------------------------------------------- formatting
def format_value(value, kind):
    """Format one table cell for markdown."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if kind == "seconds":
        return format_seconds(value)
    if kind == "ratio":
        return f"{value:.3g}x" if value < 100 else f"{value:,.0f}x"
    if kind == "range":
        low, high = value
        return f"{format_value(low, 'ratio')[:-1]}–{format_value(high, 'ratio')}"
    if kind == "float":
        return f"{value:.4g}"
    if kind == "loss":
        return f"{value:.10f}"
    if kind == "sci":
        return f"{value:.1e}"
    if kind == "percent":
        return f"{value:.0%}"
    if kind == "accuracy":
        return f"{value:.3f}"
    if kind == "gflops":
        return f"{value:.1f}"
    if kind == "bytes":
        return format_bytes(value)
    if kind == "int":
        return f"{value:,}"
    return str(value)


def format_seconds(seconds):
    """Seconds in the unit that reads best: s, ms or µs."""
    if seconds >= 1.0:
        return f"{seconds:.3g} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds * 1e6:.3g} µs"


def format_bytes(n_bytes):
    """Bytes in the binary unit that reads best."""
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n_bytes >= size:
            return f"{n_bytes / size:.3g} {unit}"
    return f"{n_bytes} B"


def _markdown_table(columns, rows):
    lines = [
        "| " + " | ".join(c.label for c in columns) + " |",
        "|" + "|".join("---" for _ in columns) + "|",
    ]
    for row in rows:
        cells = (format_value(row.get(c.key), c.kind) for c in columns)
        lines.append("| " + " | ".join(cells) + " |")
    return lines


_TARGET_COLUMNS = [
    Column("name", "target"),
    Column("goal", "goal"),
    Column("measured", "measured"),
    Column("status", "status (margin)"),
    Column("detail", "how measured"),
]

#: Other processes' share of the CPU above which a section's timings count as noisy.
NOISY_SHARE = 0.10
#: Medians of one quantity from two sections agree when within this factor.
AGREEMENT = 1.25


def _target_rows(targets):
    return [
        {
            "name": t.name,
            "goal": f"{t.comparison} {t.threshold:g}",
            "measured": f"{t.measured:.3g}",
            "status": f"not measured ({t.not_measured})" if t.not_measured else t.status,
            "detail": t.detail,
        }
        for t in targets
    ]


def render_markdown(sections, machine, run):
    """The whole report as one markdown string.

    Parameters
    ----------
    sections : list of Section
    machine : dict
        From :func:`machine_info`.
    run : dict
        Mode, command line, cat-data source, plotting status, duration.
    """
    lines = ["# sknn benchmark report", "", "## Verdict", ""]
    lines += _verdict_lines(sections, machine, run)
    lines += ["", "## The run and the machine", ""]
    lines += _machine_lines(machine, run)
    targets = [t for s in sections for t in s.targets]
    if targets:
        lines += ["", f"## Targets: {_target_count(targets)}", ""]
        lines += [
            "Margin: how far inside (+) or outside (−) the target the measured value is, "
            "relative to it. Ratios are the ratio of the two medians they are computed "
            "from, shown in the section's table with the lowest and highest per-repeat "
            "ratio.",
            "",
        ]
        lines += _markdown_table(_TARGET_COLUMNS, _target_rows(targets))
    lines += _cross_check_lines(sections)
    for section in sections:
        lines += ["", f"## {section.title}", ""]
        if section.error:
            lines += ["**This section failed:**", "", "```", section.error, "```"]
            continue
        lines.append(section.intro)
        lines += _load_lines(section.load)
        for table in section.tables:
            lines += ["", f"### {table.title}", ""]
            lines += _markdown_table(table.columns, table.rows)
            if table.notes:
                lines += [""] + [f"- {note}" for note in table.notes]
        if section.targets:
            lines += ["", "### Targets", ""]
            lines += _markdown_table(_TARGET_COLUMNS, _target_rows(section.targets))
        for figure in section.figures:
            if figure.written:
                lines += ["", f"![{figure.caption}]({figure.filename})", "", f"*{figure.caption}*"]
        if section.notes:
            lines += [""] + [f"- {note}" for note in section.notes]
    return "\n".join(lines) + "\n"


def _target_count(targets):
    measured = [t for t in targets if not t.not_measured]
    met = sum(bool(t.met) for t in measured)
    text = f"{met} of {len(measured)} measured met"
    if len(measured) < len(targets):
        text += f", {len(targets) - len(measured)} not measured in this run"
    return text


_RUN_KINDS = {
    "full": "A full run",
    "quick": "A --quick smoke run",
    "tiny": "A --tiny test run",
}


def _verdict_lines(sections, machine, run):
    """What was measured, where, how noisy it was, and what came out."""
    blas_threads = sorted(
        {p["num_threads"] for p in machine["threadpools"] if p["user_api"] == "blas"}
    )
    threads = "/".join(str(t) for t in blas_threads) or "?"
    lines = [
        f"- **What**: {_RUN_KINDS[run['mode']]} of {len(sections)} section(s) "
        f"({', '.join(s.name for s in sections)}) on sknn {machine['versions']['sknn']} "
        f"(commit {machine['sknn_commit']}), taking {run['duration'] / 60:.1f} min on "
        f"{machine['cpu_model']}, {machine['usable_cores']} usable cores, OpenBLAS with "
        f"{threads} threads; cat data: {run['cat_data']}.",
        f"- **Noise**: {_noise_sentence(sections, run)}",
    ]
    targets = [t for s in sections for t in s.targets]
    if targets:
        lines.append(f"- **Targets**: {_target_sentence(targets)}")
    if run["mode"] != "full":
        lines.append(
            "- **What it means**: the suite runs and writes its report. The problems are "
            "smaller than those the targets were set for, so these figures are not sknn's "
            "performance: `python -m benchmarks` (10–20 minutes) measures that. In brief:"
        )
    else:
        lines.append("- **What it means**, section by section:")
    for section in sections:
        finding = "FAILED, see its traceback below" if section.error else section.summary
        lines.append(f"  - *{section.name}*: {finding}")
    return lines


def _noise_sentence(sections, run):
    loads = [(s.name, s.load) for s in sections if s.load and s.load.get("others") is not None]
    load_average = _load_average(run)
    if not loads:
        return f"unknown (no /proc/stat); load average at the start {load_average}."
    worst_name, worst = max(loads, key=lambda item: item[1]["others"])
    steal = max(load["steal"] for _, load in loads)
    stolen = f", the hypervisor stole up to {steal:.0%}" if steal >= 0.01 else ""
    if worst["others"] < NOISY_SHARE and steal < NOISY_SHARE / 2:
        return (
            f"low: other processes used at most {worst['others']:.0%} of the CPU while a "
            f"section ran{stolen} (load average {load_average} at the start), so the "
            "medians are representative; each ratio's per-repeat range is shown next to it."
        )
    return (
        f"HIGH: other processes used up to {worst['others']:.0%} of the CPU (during "
        f"*{worst_name}*{stolen}; load average {load_average} at the start). Two-thread "
        "BLAS suffers most: a thread that loses its core stalls the other. Absolute times "
        "are inflated and ratios move; each ratio is shown with its per-repeat range, and "
        "where that is wide the figure is not to be quoted: rerun on a quiet machine."
    )


def _target_sentence(targets):
    measured = [t for t in targets if not t.not_measured]
    missed = [t for t in measured if not t.met]
    text = f"{sum(bool(t.met) for t in measured)} of {len(measured)} measured targets met"
    if len(missed) > 3:
        text += f"; {len(missed)} missed (the table below)"
    elif missed:
        text += "; missed: " + "; ".join(
            f"{t.name} ({t.measured:.3g}, goal {t.comparison} {t.threshold:g})" for t in missed
        )
    skipped = [t for t in targets if t.not_measured]
    if skipped:
        text += f"; {len(skipped)} not measured, as this run cannot by construction"
    return text + "."


_CROSS_CHECK_COLUMNS = [
    Column("quantity", "quantity"),
    Column("section", "section"),
    Column("median", "median", "seconds"),
    Column("range", "lowest – highest repeat"),
    Column("others", "others' CPU share during the section", "percent"),
]


def _cross_check_lines(sections):
    """One quantity measured by several sections: their figures side by side, and whether
    they agree."""
    by_key = {}
    for section in sections:
        for key, figure in section.cross_checks.items():
            by_key.setdefault(key, []).append((section, figure))
    shared = {key: found for key, found in by_key.items() if len(found) > 1}
    if not shared:
        return []
    rows, notes = [], []
    for key, found in shared.items():
        for section, figure in found:
            low, high = figure["range"]
            rows.append(
                {
                    "quantity": key,
                    "section": section.name,
                    "median": figure["median"],
                    "range": f"{format_seconds(low)} – {format_seconds(high)}",
                    "others": (section.load or {}).get("others"),
                }
            )
        notes.append(_agreement(key, found))
    return (
        ["", "## Cross-checks: one quantity, several sections", ""]
        + [
            "Several sections time the network's full-batch epoch on the same problem, "
            "with the same estimator and the same steady-state method ((time of a long "
            "fit − time of a 1-epoch fit) / (epochs − 1)), each interleaved with "
            "different work.",
            "",
        ]
        + _markdown_table(_CROSS_CHECK_COLUMNS, rows)
        + [""]
        + [f"- {note}" for note in notes]
    )


def _agreement(key, found):
    medians = {section.name: figure["median"] for section, figure in found}
    slow = max(medians, key=medians.get)
    fast = min(medians, key=medians.get)
    factor = medians[slow] / medians[fast]
    if factor <= AGREEMENT:
        return f"{key}: the sections agree (medians within {factor - 1:.0%})."
    loads = {s.name: (s.load or {}).get("others") for s, _ in found}
    if None not in loads.values() and loads[slow] - loads[fast] >= NOISY_SHARE:
        why = (
            f"other processes used {loads[slow]:.0%} of the CPU during *{slow}* against "
            f"{loads[fast]:.0%} during *{fast}*: the load, not sknn, differs"
        )
    else:
        why = (
            "the load was alike, so the difference is the sections' own: "
            "see the ranges, and rerun on a quiet machine"
        )
    return f"{key}: *{slow}* is {factor:.2f}x slower than *{fast}*; {why}."


def _load_lines(load):
    if not load or load.get("others") is None:
        return []
    return [
        "",
        f"*While this section ran, other processes used {load['others']:.0%} of the machine's "
        f"CPU time and the hypervisor stole {load['steal']:.1%}: the higher these are, the "
        "noisier the timings (two-thread BLAS suffers most).*",
    ]


def _machine_lines(machine, run):
    blas = "; ".join(
        f"{p['internal_api']} {p['version']} ({p['architecture']}, {p['num_threads']} threads, "
        f"{p['library']})"
        for p in machine["threadpools"]
        if p["user_api"] == "blas"
    )
    others = "; ".join(
        f"{p['internal_api']} ({p['num_threads']} threads)"
        for p in machine["threadpools"]
        if p["user_api"] != "blas"
    )
    versions = ", ".join(f"{k} {v}" for k, v in machine["versions"].items() if v)
    memory = machine["memory_bytes"]
    coretype = machine["openblas_coretype"]
    lines = [
        f"- **Measured**: {machine['date']} ({run['mode']} run, {run['duration']:.0f} s: "
        f"`{run['command']}`)",
        f"- **Machine**: {machine['cpu_model']}, {machine['logical_cores']} logical cores "
        f"({machine['usable_cores']} usable)"
        + (f", {memory / 2**30:.0f} GiB RAM" if memory else "")
        + f"; {machine['platform']}",
        f"- **BLAS**: {blas or 'none found'}"
        + (f"; OPENBLAS_CORETYPE={coretype}" if coretype else ""),
    ]
    if others:
        lines.append(f"- **Other thread pools**: {others}")
    lines += [
        f"- **Versions**: {versions}; sknn commit {machine['sknn_commit']}",
        f"- **Cat data**: {run['cat_source']}",
        f"- **Load average at start** (1, 5, 15 min): {_load_average(run)}",
        f"- **Plots**: {run['plots']}",
    ]
    return lines


def _load_average(run):
    values = run.get("load_average_at_start")
    return ", ".join(f"{v:.2f}" for v in values) if values else "unknown"


# ------------------------------------------------------------------- writing
def draw_figures(sections, output_dir):
    """Save every section's figures as PNGs, if matplotlib is importable.

    Returns
    -------
    status : str
        One line for the report saying what happened.
    """
    figures = [f for s in sections for f in s.figures]
    if not figures:
        return "none in the sections run"
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure as MplFigure
    except ImportError:
        return "skipped: matplotlib is not installed (pip install matplotlib)"
    for figure in figures:
        canvas_figure = MplFigure(figsize=figure.size, layout="constrained")
        FigureCanvasAgg(canvas_figure)  # Agg, without touching pyplot's global state
        figure.draw(canvas_figure)
        canvas_figure.savefig(output_dir / figure.filename, dpi=110)
        figure.written = True
    return f"{len(figures)} PNG files next to this report (matplotlib, Agg)"


def write_report(sections, run, output_dir, *, write_json):
    """Write ``report.md``, the PNGs and optionally ``results.json``.

    Parameters
    ----------
    sections : list of Section
    run : dict
        Mode, command, cat-data source and duration (see :func:`render_markdown`).
    output_dir : path-like
    write_json : bool

    Returns
    -------
    paths : list of Path
        The files written.
    """
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    machine = machine_info()
    run = {**run, "plots": draw_figures(sections, output_dir)}
    report = output_dir / "report.md"
    report.write_text(render_markdown(sections, machine, run), encoding="utf-8")
    paths = [report] + [output_dir / f.filename for s in sections for f in s.figures if f.written]
    if write_json:
        results = output_dir / "results.json"
        payload = {
            "machine": machine,
            "run": run,
            "targets": [t.as_dict() for s in sections for t in s.targets],
            "sections": {s.name: _section_dict(s) for s in sections},
        }
        results.write_text(json.dumps(payload, indent=1, default=_json_default), encoding="utf-8")
        paths.append(results)
    return paths


def _section_dict(section):
    return {
        "title": section.title,
        "error": section.error or None,
        "machine_load": section.load,
        "tables": [
            {
                "title": t.title,
                "columns": [c.key for c in t.columns],
                "labels": [c.label for c in t.columns],
                "rows": t.rows,
                "notes": t.notes,
            }
            for t in section.tables
        ],
        "targets": [t.as_dict() for t in section.targets],
        "figures": [f.filename for f in section.figures if f.written],
        "notes": section.notes,
        "data": section.data,
    }


def _json_default(value):
    """NumPy scalars and arrays, and anything else, as plain JSON."""
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)
