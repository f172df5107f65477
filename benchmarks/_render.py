"""The report files: ``report.md`` (verdict first), the PNG plots, ``results.json``.

Plots are drawn by callables the sections attach; matplotlib is imported
here, lazily, and the report says so when it is missing.
"""

import json
from pathlib import Path

from ._report import Column, format_seconds, machine_info, markdown_table

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
        lines += markdown_table(_TARGET_COLUMNS, _target_rows(targets))
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
            lines += markdown_table(table.columns, table.rows)
            if table.notes:
                lines += [""] + [f"- {note}" for note in table.notes]
        if section.targets:
            lines += ["", "### Targets", ""]
            lines += markdown_table(_TARGET_COLUMNS, _target_rows(section.targets))
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
        "BLAS suffers most, since a call waits for whichever thread lost its core: the "
        "rows limited to one BLAS thread are the steadier ones. Absolute times are "
        "inflated and ratios move; each ratio is shown with its per-repeat range, and "
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
        text += f"; {len(skipped)} not measured (the table says why)"
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
        + markdown_table(_CROSS_CHECK_COLUMNS, rows)
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
            f"{loads[fast]:.0%} during *{fast}*: the load differs, not sknn (a two-thread "
            "BLAS call waits for whichever of its threads lost its core)"
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
