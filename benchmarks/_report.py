"""The report: ``report.md`` (verdict first), its PNG plots and ``results.json``."""

import datetime
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

from ._core import REPO_ROOT, Column, fmt

#: Others' share of the CPU above which a run counts as noisy.
NOISY_SHARE = 0.10

_TARGET_COLUMNS = [
    Column("name", "target"),
    Column("goal", "goal"),
    Column("measured", "measured: median (range)"),
    Column("status", "status"),
    Column("detail", "how measured"),
]


# -------------------------------------------------------------- the machine
def machine_info():
    """CPU, cores, memory, BLAS libraries, library versions and sknn's commit."""
    import numpy
    import scipy
    import sklearn
    from threadpoolctl import threadpool_info

    import sknn

    versions = {
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "scikit-learn": sklearn.__version__,
        "sknn": sknn.__version__,
    }
    for name in ("matplotlib", "threadpoolctl", "torch", "dask", "distributed"):
        if name in sys.modules:  # the optional libraries this run used
            versions[name] = getattr(sys.modules[name], "__version__", "?")
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "cpu_model": _first_field("/proc/cpuinfo", "model name") or platform.processor(),
        "logical_cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "memory_gib": int((_first_field("/proc/meminfo", "MemTotal") or "0 kB").split()[0]) / 2**20,
        "platform": platform.platform(),
        "blas": [
            {
                # numpy.libs/... or scipy.libs/...: whose copy of OpenBLAS it is.
                "library": "/".join(Path(p["filepath"]).parts[-2:]),
                "version": f"{p['internal_api']} {p.get('version')}",
                "architecture": p.get("architecture"),
                "threads": p["num_threads"],
            }
            for p in threadpool_info()
            if p["user_api"] == "blas"
        ],
        "environment": {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "SCIPY_ARRAY_API")},
        "versions": versions,
        "sknn_commit": _git_commit(),
    }


def _first_field(path, name):
    try:
        with open(path) as f:
            return next(
                (line.split(":", 1)[1].strip() for line in f if line.startswith(name)), None
            )
    except OSError:
        return None


def _git_commit():
    """HEAD, '-dirty' with local changes; 'unknown' outside a checkout (CI's scratch copy)."""
    command = ["git", "describe", "--always", "--dirty", "--abbrev=7"]
    try:
        return subprocess.run(
            command, cwd=REPO_ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


# ----------------------------------------------------------------- markdown
def markdown_table(columns, rows):
    """Markdown lines of a table: a header, then one line per row dict."""
    lines = ["| " + " | ".join(c.label for c in columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(fmt(row.get(c.key), c.kind) for c in columns) + " |")
    return lines


def render(sections, machine, run):
    """The whole report as one markdown string: the verdict, then each section."""
    lines = ["# sknn benchmark report", "", "## Verdict", ""] + verdict(sections, machine, run)
    for section in sections:
        lines += ["", f"## {section.title}", ""]
        if section.error:
            lines += ["**This section failed:**", "", "```", section.error.rstrip(), "```"]
            continue
        if section.skipped:
            lines.append(f"**Skipped**: {section.skipped} To include it: `{section.command}`")
            continue
        lines.append(section.intro)
        if (section.load or {}).get("others") is not None:
            others, steal = section.load["others"], section.load["steal"]
            lines += [
                "",
                f"*While it ran, other processes used {others:.0%} of the CPU time "
                f"and the hypervisor stole {steal:.0%}.*",
            ]
        for table in section.tables:
            lines += ["", f"### {table.title}", ""] + markdown_table(table.columns, table.rows)
            lines += [""] * bool(table.notes) + [f"- {note}" for note in table.notes]
        if section.targets:
            lines += ["", "### Targets", ""]
            lines += markdown_table(_TARGET_COLUMNS, [_target_row(t) for t in section.targets])
        for figure in section.figures:
            if figure.written:
                lines += ["", f"![{figure.caption}]({figure.filename})", "", f"*{figure.caption}*"]
    return "\n".join(lines) + "\n"


def _target_row(target):
    status = target.status + (f" ({target.not_measured})" if target.not_measured else "")
    goal = f"{target.comparison} {fmt(target.threshold, target.kind)}"
    return dict(
        name=target.name, goal=goal, measured=target.shown, status=status, detail=target.detail
    )


_RUN_KINDS = {
    "full": "A --full run (the largest sizes)",
    "default": "A default run",
    "quick": "A --quick smoke run (small sizes: not a measurement)",
    "tiny": "A --tiny test run (toy sizes: not a measurement)",
}


def verdict(sections, machine, run):
    """The verdict's bullets: what, where, how noisy, what was skipped, what came out."""
    blas = "; ".join(
        f"{b['version']} for {b['library']} ({b['architecture']}, {b['threads']} threads)"
        for b in machine["blas"]
    )
    environment = ", ".join(f"{k}={v}" for k, v in machine["environment"].items() if v)
    skipped = [s for s in sections if s.skipped]
    lines = [
        f"- **What**: {_RUN_KINDS[run['mode']]} of {len(sections)} section(s) "
        f"({', '.join(s.name for s in sections)}) on {machine['date']}, "
        f"{run['duration'] / 60:.1f} min: `{run['command']}`.",
        f"- **Machine**: {machine['cpu_model']}, {machine['usable_cores']} usable of "
        f"{machine['logical_cores']} logical cores, {machine['memory_gib']:.0f} GiB, "
        f"{machine['platform']}; BLAS: {blas or 'none found'} (a BLAS thread limit applies to "
        f"both, through threadpoolctl){'; ' + environment if environment else ''}; "
        + ", ".join(f"{k} {v}" for k, v in machine["versions"].items())
        + f"; sknn commit {machine['sknn_commit']}.",
        f"- **Data**: scikit-learn's bundled sets, generated problems, and for the cat data: "
        f"{run['cat_source']}.",
        f"- **Noise**: {_noise(sections, run)}",
        "- **Skipped**: "
        + (
            "; ".join(f"*{s.name}*: {s.skipped} Include it with `{s.command}`" for s in skipped)
            or "nothing: every section selected ran."
        ),
        f"- **Targets**: {_target_sentence([t for s in sections for t in s.targets])}",
        f"- **Findings** ({run['plots']}):",
    ]
    for section in sections:
        if section.error:
            finding = "FAILED; its traceback is in its section below."
        elif section.skipped:
            finding = f"skipped ({section.skipped})"
        else:
            finding = section.summary or "measured, but the section wrote no finding (a bug)."
        lines.append(f"  - *{section.name}*: {finding}")
    return lines


def _noise(sections, run):
    loads = [(s.name, s.load) for s in sections if (s.load or {}).get("others") is not None]
    average = ", ".join(f"{v:.2f}" for v in run["load_average"] or ()) or "unknown"
    if not loads:
        return f"unknown (no /proc/stat); load average at the start {average}."
    name, worst = max(loads, key=lambda item: item[1]["others"])
    steal = max(load["steal"] for _, load in loads)
    text = (
        f"other processes used up to {worst['others']:.0%} of the CPU while a section ran "
        f"(*{name}*), the hypervisor stole up to {steal:.0%}; load average {average} at the start."
    )
    if worst["others"] < NOISY_SHARE and steal < NOISY_SHARE / 2:
        return f"low: {text} Medians are representative."
    return (
        f"HIGH: {text} Two-thread BLAS suffers most (a call waits for whichever thread lost "
        "its core). Every ratio is shown with its per-round range, and a target whose range "
        "straddles its goal is reported 'within noise', not met."
    )


def _target_sentence(targets):
    if not targets:
        return "none in the sections run."
    by_status = {}
    for target in targets:
        by_status.setdefault(target.status, []).append(target.name)
    text = ", ".join(f"{len(v)} {k}" for k, v in by_status.items()) + f" of {len(targets)}"
    for status in ("missed", "within noise"):
        names = by_status.get(status, [])
        if names:
            more = f"; and {len(names) - 5} more" if len(names) > 5 else ""
            text += f". {status.capitalize()}: " + "; ".join(names[:5]) + more
    return text + ". Met means the whole range over the rounds or seeds meets the goal."


# ------------------------------------------------------------------ writing
def draw_figures(sections, output_dir):
    """Save every section's figures as PNGs; return one line saying what happened."""
    figures = [f for s in sections for f in s.figures]
    if not figures:
        return "none in the sections run"
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        return "not drawn: matplotlib is not installed (pip install matplotlib)"
    for figure in figures:
        canvas = Figure(figsize=figure.size, layout="constrained")
        FigureCanvasAgg(canvas)  # Agg, without touching pyplot's global state
        figure.draw(canvas)
        canvas.savefig(output_dir / figure.filename, dpi=110)
        figure.written = True
    return f"{len(figures)} PNG files next to this report"


def write_report(sections, run, output_dir, *, write_json):
    """Write ``report.md``, the PNGs and optionally ``results.json``; return their paths."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    run = {**run, "plots": draw_figures(sections, output_dir)}  # imports matplotlib first
    machine = machine_info()
    report = output_dir / "report.md"
    report.write_text(render(sections, machine, run), encoding="utf-8")
    paths = [report] + [output_dir / f.filename for s in sections for f in s.figures if f.written]
    if write_json:
        payload = {
            "machine": machine,
            "run": run,
            "targets": [t.as_dict() for s in sections for t in s.targets],
            "sections": {s.name: _section_dict(s) for s in sections},
        }
        paths.append(output_dir / "results.json")
        paths[-1].write_text(json.dumps(payload, indent=1, default=_plain), encoding="utf-8")
    return paths


def _section_dict(section):
    keys = ("title", "summary", "skipped", "command", "error", "load", "data")
    result = {key: getattr(section, key) or None for key in keys}
    result["tables"] = [
        {**vars(t), "columns": {c.key: c.label for c in t.columns}} for t in section.tables
    ]
    result["targets"] = [t.as_dict() for t in section.targets]
    result["figures"] = [f.filename for f in section.figures if f.written]
    return result


def _plain(value):
    """NumPy scalars and arrays as plain JSON; anything else as its text."""
    return value.tolist() if hasattr(value, "tolist") else str(value)
