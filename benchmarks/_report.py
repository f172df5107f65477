"""What a section returns, the machine it ran on, and how figures are formatted.

A section's numbers are kept raw (seconds, ratios, bytes) in its tables and
formatted only when the markdown is written (:mod:`benchmarks._render`), so
``results.json`` holds every figure at full precision.
"""

import datetime
import math
import os
import platform
import subprocess
from dataclasses import dataclass, field

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
        reported as not measured, never as MISSED. Set too when ``measured``
        is not a positive number: every target here is a ratio of times, and a
        steady epoch that came out at or below zero means that the noise was
        larger than the time measured.
    """

    name: str
    measured: float
    threshold: float
    comparison: str
    detail: str = ""
    not_measured: str = ""

    def __post_init__(self):
        if not self.not_measured and not self.measured > 0:
            self.not_measured = "the timing noise was larger than the time measured"

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
    """Seconds in the unit that reads best: s, ms or µs (by magnitude: a difference of
    medians can be negative)."""
    if abs(seconds) >= 1.0:
        return f"{seconds:.3g} s"
    if abs(seconds) >= 1e-3:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds * 1e6:.3g} µs"


def format_bytes(n_bytes):
    """Bytes in the binary unit that reads best."""
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n_bytes >= size:
            return f"{n_bytes / size:.3g} {unit}"
    return f"{n_bytes} B"


def markdown_table(columns, rows):
    """Markdown lines of a table: a header row, then one row per dict of ``rows``."""
    lines = [
        "| " + " | ".join(c.label for c in columns) + " |",
        "|" + "|".join("---" for _ in columns) + "|",
    ]
    for row in rows:
        cells = (format_value(row.get(c.key), c.kind) for c in columns)
        lines.append("| " + " | ".join(cells) + " |")
    return lines
