"""What every section shares: the run's configuration, timing, and the shape of results.

Timing rules, because the machines are shared and noisy: candidates are
timed interleaved in one process (each round runs every candidate once, in
alternating order), a ratio is the ratio of the two medians printed next to
it, and its range is the lowest and highest per-round ratio. A target is
met only where its whole range meets it (:class:`Target`).
"""

import functools
import gc
import math
import os
import sys
import threading
import time
import warnings
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median

from sklearn.exceptions import ConvergenceWarning

#: Run sizes. 'default' is ``python -m benchmarks``; 'tiny' is the test suite's.
MODES = ("full", "default", "quick", "tiny")
DATA_DIR = "SKNN_DATA_DIR"
REPO_ROOT = Path(__file__).resolve().parents[1]
#: A throttled progress line (:meth:`Config.tick`) comes at most this often...
TICK_SECONDS = 3.0
#: ...and the heartbeat breaks any silence longer than this (CI allows ~10 s).
HEARTBEAT_SECONDS = 8.0


class Config:
    """What a section needs to know about the run.

    Parameters
    ----------
    mode : {'full', 'default', 'quick', 'tiny'}
        Which of each section's size presets to run.
    verbose : bool, default=True
        Print progress lines to stderr.

    Attributes
    ----------
    data_dir : Path or None
        ``$SKNN_DATA_DIR``: where the course's cat files are looked for.
    """

    def __init__(self, mode="default", verbose=True):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        self.mode, self.verbose = mode, verbose
        self.data_dir = Path(os.environ[DATA_DIR]) if os.environ.get(DATA_DIR) else None
        self._start = time.perf_counter()
        self._last_line, self._last_message = float("-inf"), ("", 0.0)

    def pick(self, presets):
        """The entry of ``presets`` (a dict keyed by mode) for this run."""
        return presets[self.mode]

    def progress(self, message):
        """Print one progress line to stderr, stamped with the seconds since the start."""
        self._last_message = (message, time.perf_counter())
        self._print(message)

    def tick(self, message):
        """Print a progress line unless one was printed in the last :data:`TICK_SECONDS`."""
        if time.perf_counter() - self._last_line >= TICK_SECONDS:
            self.progress(message)

    @contextmanager
    def heartbeat(self):
        """While the block runs, a thread repeats the last line after long silences.

        One fit under load can run for a minute; CI wants a line every ~10 s.
        """
        stop = threading.Event()

        def beat():
            while not stop.wait(1.0):
                if time.perf_counter() - self._last_line >= HEARTBEAT_SECONDS:
                    message, since = self._last_message
                    self._print(
                        f"still running, {time.perf_counter() - since:.0f} s after: {message}"
                    )

        thread = threading.Thread(target=beat, daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def _print(self, message):
        self._last_line = time.perf_counter()
        if self.verbose:
            print(
                f"[{self._last_line - self._start:7.1f} s] {message}", file=sys.stderr, flush=True
            )


# -------------------------------------------------------------------- timing
@functools.lru_cache(maxsize=1)
def _controller():
    # Made once, after numpy's and scipy's OpenBLAS are loaded: threadpool_limits
    # would rescan the libraries on every call (milliseconds, as long as a small fit).
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def blas_threads(n_threads):
    """Context manager limiting every loaded BLAS (numpy's and scipy's) to ``n_threads``.

    None keeps the libraries' default thread count.
    """
    if n_threads is None:
        return nullcontext()
    return _controller().limit(limits=n_threads, user_api="blas")


def blas_label(n_threads):
    """How tables name a BLAS thread setting: '1 BLAS thread', 'default BLAS threads (2)'."""
    if n_threads is None:
        pools = _controller().select(user_api="blas").info()
        return f"default BLAS threads ({pools[0]['num_threads'] if pools else '?'})"
    return f"{n_threads} BLAS thread" + ("s" if n_threads > 1 else "")


def timed(fn, repeat=0, n_threads=None):
    """Seconds per unit of ``fn(repeat)``, which returns its units of work (None: one).

    The BLAS limit is set before the clock starts; the garbage collector is off,
    as in :mod:`timeit` (collecting someone else's garbage is noise).
    """
    enabled = gc.isenabled()
    with blas_threads(n_threads):
        gc.disable()
        try:
            start = time.perf_counter()
            units = fn(repeat)
            elapsed = time.perf_counter() - start
        finally:
            if enabled:
                gc.enable()
    return elapsed / (units or 1)


def interleave(candidates, repeats, *, warmup=1, threads=None, config=None, label=""):
    """Time every candidate ``repeats`` times, interleaved.

    Parameters
    ----------
    candidates : dict of hashable to callable
        ``fn(repeat)`` does the work of round ``repeat`` (a seed, say) and
        returns its number of units of work (epochs...), or None for one.
    repeats : int
    warmup : int, default=1
        Untimed rounds first (round 0 again): first-call costs go there.
    threads : dict or None
        BLAS threads of each candidate (missing: the default).
    config : Config or None
        Receives a progress line per round, and throttled ones in between.
    label : str
        Prefix of the progress lines.

    Returns
    -------
    samples : dict of hashable to list of float
        Seconds per unit, one per round; entry ``r`` of every candidate comes
        from round ``r``, so they pair.
    """
    names, threads = list(candidates), threads or {}
    for _ in range(warmup):
        for name in names:
            with blas_threads(threads.get(name)):
                candidates[name](0)
            if config:
                config.tick(f"{label}warm-up")
    samples = {name: [] for name in names}
    for repeat in range(repeats):
        for i, name in enumerate(names if repeat % 2 == 0 else names[::-1]):
            samples[name].append(timed(candidates[name], repeat, threads.get(name)))
            if config:
                config.tick(f"{label}round {repeat + 1}/{repeats}: {i + 1}/{len(names)} calls")
        if config:
            config.progress(f"{label}round {repeat + 1}/{repeats} done")
    return samples


def fit_warned(estimator, X, y):
    """Fit; return the estimator and whether it raised a ConvergenceWarning."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        estimator.fit(X, y)
    return estimator, any(issubclass(w.category, ConvergenceWarning) for w in caught)


def spread(values):
    """``(median, lowest, highest)`` of the repeats: a table cell shows all three."""
    return (median(values), min(values), max(values))


def compare(numerator, denominator):
    """Summarise two paired sample lists so that the ratio stands next to its figures.

    Returns
    -------
    comparison : dict
        ``numerator``, ``denominator``: the medians; ``ratio``: their ratio;
        ``range``: the lowest and highest per-round ratio; ``cell``: the ratio
        and its range, as :func:`fmt` shows them.
    """
    per_round = [a / b for a, b in zip(numerator, denominator, strict=True)]
    top, bottom = median(numerator), median(denominator)
    low, high = min(per_round), max(per_round)
    cell = (top / bottom, low, high)
    return dict(numerator=top, denominator=bottom, ratio=top / bottom, range=(low, high), cell=cell)


def pair(comparison, kind="seconds"):
    """'81 ms vs 72 ms = 1.12x (1.05x – 1.2x)': a :func:`compare` ratio next to its figures."""
    figures = f"{fmt(comparison['numerator'], kind)} vs {fmt(comparison['denominator'], kind)}"
    return f"{figures} = {fmt(comparison['cell'], 'ratio')}"


class MachineLoad:
    """The share of the machine's CPU time others used (and the hypervisor stole) since creation.

    "Others" excludes this process and the children it waited for (the
    training subprocesses, the Dask workers). Reads /proc/stat; off Linux
    every figure is None.
    """

    def __init__(self):
        self._begin = (_proc_stat(), sum(os.times()[:4]))

    def stop(self):
        """Return ``{'others': fraction or None, 'steal': fraction or None}``."""
        (before, own_before), after = self._begin, _proc_stat()
        if before is None or after is None or after["total"] <= before["total"]:
            return {"others": None, "steal": None}
        total = after["total"] - before["total"]
        own = (sum(os.times()[:4]) - own_before) * os.sysconf("SC_CLK_TCK")
        busy = after["busy"] - before["busy"]
        return {
            "others": min(1.0, max(0.0, busy - own) / total),
            "steal": (after["steal"] - before["steal"]) / total,
        }


def _proc_stat():
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    user, nice, system, idle, iowait, irq, softirq, steal = fields
    return {"total": sum(fields), "busy": user + nice + system + irq + softirq, "steal": steal}


# ------------------------------------------------------------------ results
@dataclass
class Column:
    """A table column: the key of its values in each row, a label and a format (see :func:`fmt`)."""

    key: str
    label: str
    kind: str = "text"


@dataclass
class Table:
    """A markdown table whose rows are dicts keyed by the columns' keys."""

    title: str
    columns: list
    rows: list = field(default_factory=list)
    notes: list = field(default_factory=list)


@dataclass
class Target:
    """A commitment of the project and the value measured against it.

    ``measured`` is a median and ``(low, high)`` the range the rounds or seeds
    covered (None: a single figure); ``kind`` formats them (:func:`fmt`);
    ``not_measured`` says why this run cannot test the target, if it cannot.
    The target is met only when the whole range meets ``measured comparison
    threshold``, missed when none of it does, and otherwise "within noise": a
    median on the right side of a threshold the repeats straddle is no result.
    """

    name: str
    measured: float
    threshold: float
    comparison: str
    low: float = None
    high: float = None
    kind: str = "ratio"
    detail: str = ""
    not_measured: str = ""

    @classmethod
    def on_values(cls, name, values, threshold, op, **kwargs):
        """A target on the median of per-round (or per-seed) values, judged over their range."""
        return cls(name, median(values), threshold, op, min(values), max(values), **kwargs)

    @classmethod
    def on_ratio(cls, name, comparison, threshold, op):
        """A target on a :func:`compare` ratio, judged over its per-round range."""
        low, high = comparison["range"]
        return cls(name, comparison["ratio"], threshold, op, low, high, detail=pair(comparison))

    @property
    def status(self):
        """'met', 'missed', 'within noise' or 'not measured'."""
        if self.not_measured or self.measured is None or math.isnan(self.measured):
            return "not measured"
        ends = [self.measured if v is None else v for v in (self.low, self.high)]
        ok = [v <= self.threshold if self.comparison == "<=" else v >= self.threshold for v in ends]
        return "met" if all(ok) else "missed" if not any(ok) else "within noise"

    @property
    def shown(self):
        """The measured figure with its range, formatted."""
        if self.low is None:
            return fmt(self.measured, self.kind)
        return fmt((self.measured, self.low, self.high), self.kind)

    def as_dict(self):
        return {
            "name": self.name,
            "measured": self.measured,
            "range": None if self.low is None else [self.low, self.high],
            "threshold": self.threshold,
            "comparison": self.comparison,
            "status": self.status,
            "detail": self.detail,
            "not_measured": self.not_measured or None,
        }


@dataclass
class Figure:
    """A plot: ``draw(figure)`` fills a ``matplotlib.figure.Figure`` of ``size`` inches."""

    filename: str
    caption: str
    draw: object
    size: tuple = (7.0, 4.0)
    written: bool = False


@dataclass
class Section:
    """Everything one section measured.

    ``summary`` is its finding for the verdict (never empty: the report
    refuses an empty one). ``skipped`` says why the section measured nothing
    and ``command`` what to run to include it.
    """

    name: str
    title: str
    intro: str = ""
    tables: list = field(default_factory=list)
    targets: list = field(default_factory=list)
    figures: list = field(default_factory=list)
    data: dict = field(default_factory=dict)
    summary: str = ""
    skipped: str = ""
    command: str = ""
    error: str = ""
    load: dict = None


# --------------------------------------------------------------- formatting
def fmt(value, kind="text"):
    """Format one figure of ``kind``.

    A ``(low, high)`` pair is a range, a ``(median, low, high)`` triple a
    median with its range ("12 ms (11 ms – 15 ms)"); a range whose ends
    agree is one figure.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, (tuple, list)) and len(value) == 3:
        middle, bounds = fmt(value[0], kind), fmt(value[1:], kind)
        return middle if bounds == middle else f"{middle} ({bounds})"
    if isinstance(value, (tuple, list)):
        low, high = fmt(value[0], kind), fmt(value[1], kind)
        return low if low == high else f"{low} – {high}"
    formats = {
        "seconds": format_seconds,
        "bytes": format_bytes,
        "ratio": lambda v: f"{v:.3g}x" if v < 100 else f"{v:,.0f}x",
        "float": lambda v: f"{v:.4g}",
        "loss": lambda v: f"{v:.6f}",
        "sci": lambda v: f"{v:.1e}",
        "percent": lambda v: f"{v:.0%}",
        "accuracy": lambda v: f"{v:.3f}",
        "gflops": lambda v: f"{v:.1f}",
        "int": lambda v: f"{v:,}",
    }
    return formats.get(kind, str)(value)


def format_seconds(seconds):
    """Seconds in the unit that reads best: s, ms or µs."""
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
