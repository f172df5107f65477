"""Timing helpers: warm up, interleave the candidates, take medians.

The machines are shared and noisy, so every comparison is made from runs
interleaved in one process: each repeat runs every candidate once (in
alternating order). A ratio is the ratio of the two medians printed next to
it (:func:`compare`), and the lowest and highest per-repeat ratios show how
noisy it was.
Time per epoch is measured in steady state, from fits of two lengths
(:func:`fit_timers`, :func:`steady_epochs`), so that what a fit costs once
does not count as epoch time.
"""

import functools
import gc
import math
import os
import statistics
import time
from contextlib import nullcontext

import numpy as np
from sklearn.base import clone
from threadpoolctl import ThreadpoolController, threadpool_info


@functools.lru_cache(maxsize=1)
def _controller():
    # Made on first use, when numpy's and scipy's BLAS are loaded (importing
    # scikit-learn loads both, and every section imports it before timing).
    return ThreadpoolController()


def blas_threads(n_threads):
    """Context manager limiting BLAS to ``n_threads``; None keeps the default.

    ``threadpool_limits`` rescans the loaded libraries on every call (7–25 ms
    on the benchmark machine, as long as a small fit); one controller, made
    once, limits in ~30 µs.
    """
    if n_threads is None:
        return nullcontext()
    return _controller().limit(limits=n_threads, user_api="blas")


def threads_key(n_threads):
    """How JSON keys and column keys name a BLAS thread setting: 'default', '1thread'."""
    return "default" if n_threads is None else f"{n_threads}thread"


def default_blas_threads():
    """Thread count of the first BLAS threadpoolctl sees (numpy's), or None."""
    for pool in threadpool_info():
        if pool.get("user_api") == "blas":
            return pool.get("num_threads")
    return None


def blas_setting_label(n_threads):
    """How a report names a BLAS thread setting."""
    if n_threads is None:
        return f"BLAS default ({default_blas_threads()} threads)"
    return f"BLAS limited to {n_threads} thread" + ("s" if n_threads > 1 else "")


def time_per_unit(fn, n_threads=None):
    """Wall time of ``fn()`` divided by what it returns.

    Parameters
    ----------
    fn : callable
        Returns the number of units of work it did (epochs, iterations), or
        None for one unit.
    n_threads : int or None
        BLAS threads while ``fn`` runs (None: the default); the limit is set
        before the clock starts, so it costs ``fn`` nothing.

    Returns
    -------
    seconds : float

    Notes
    -----
    The garbage collector is off while ``fn`` runs, as in :mod:`timeit`: a
    collection triggered by someone else's garbage is noise.
    """
    enabled = gc.isenabled()
    with blas_threads(n_threads):
        gc.disable()
        try:
            start = time.perf_counter()
            units = fn()
            elapsed = time.perf_counter() - start
        finally:
            if enabled:
                gc.enable()
    return elapsed / (1 if units is None else units)


def interleave(candidates, repeats, *, warmup=1, config=None, label="", threads=None):
    """Time every candidate ``repeats`` times, interleaved.

    Parameters
    ----------
    candidates : dict of hashable to callable
        Each returns its number of units of work (see :func:`time_per_unit`).
    repeats : int
    warmup : int, default=1
        Untimed calls of every candidate before the timed ones.
    config : Config or None
        Progress goes to it: a line after each round, and in between one every
        few seconds (:meth:`Config.tick`), so a long round is never silent.
    label : str
        Prefix of the progress lines.
    threads : dict of hashable to (int or None), or None
        BLAS threads of each candidate, set outside its timed span (see
        :func:`time_per_unit`); a candidate not in it keeps the default.

    Returns
    -------
    samples : dict of hashable to list of float
        Seconds per unit of each candidate, one entry per repeat; entry ``r``
        of every candidate comes from the same round, so they can be paired.
    """
    names = list(candidates)
    calls = len(names)
    threads = {} if threads is None else threads

    def tick(message):
        if config is not None:
            config.tick(f"{label}{message}")

    for _ in range(warmup):
        for i, name in enumerate(names):
            with blas_threads(threads.get(name)):
                candidates[name]()
            tick(f"warm-up round: {i + 1}/{calls} calls")
    samples = {name: [] for name in names}
    for repeat in range(repeats):
        order = names if repeat % 2 == 0 else names[::-1]
        timings = {}
        for i, name in enumerate(order):
            timings[name] = time_per_unit(candidates[name], threads.get(name))
            tick(f"repeat {repeat + 1}/{repeats}: {i + 1}/{calls} timed calls")
        for name in names:
            samples[name].append(timings[name])
        if config is not None:
            config.progress(f"{label}repeat {repeat + 1}/{repeats} done")
    return samples


def median(values):
    """Median of a non-empty sequence."""
    return statistics.median(values)


def compare(numerator, denominator):
    """Two paired sample lists, summarised so that the ratio matches its figures.

    Parameters
    ----------
    numerator, denominator : list of float
        Per-repeat samples from the same :func:`interleave` call.

    Returns
    -------
    comparison : dict
        ``numerator`` and ``denominator``: the medians; ``ratio``: their
        ratio, so a report can print it next to them; ``ratio_range``: the
        lowest and highest per-repeat ratio, the spread that noise caused.
    """
    per_repeat = [a / b for a, b in zip(numerator, denominator, strict=True)]
    top, bottom = median(numerator), median(denominator)
    return {
        "numerator": top,
        "denominator": bottom,
        "ratio": top / bottom,
        "ratio_range": (min(per_repeat), max(per_repeat)),
    }


def fit_timers(estimator, X, y, epochs, n_threads=None):
    """Callables fitting the estimator for ``epochs`` epochs, and for one.

    Time both in one :func:`interleave` call and pass the samples to
    :func:`steady_epochs`. The fits return None, so their samples are seconds
    per fit.

    Parameters
    ----------
    estimator : estimator with a ``max_iter`` parameter
        Cloned; it must run exactly ``max_iter`` epochs (``tol=None``).
    X, y : array-like
    epochs : int
        Length of the long fit, at least 2.
    n_threads : int or None
        BLAS threads during the fits (None: the default).

    Returns
    -------
    long_fit, short_fit : callable
    """

    def timer(max_iter):
        fitted = clone(estimator).set_params(max_iter=max_iter)

        def run():
            with blas_threads(n_threads):
                fitted.fit(X, y)
            ran = int(np.max(fitted.n_iter_))
            if ran != max_iter:
                raise RuntimeError(
                    f"{type(fitted).__name__} ran {ran} epochs instead of {max_iter}: a "
                    "timed fit must not stop early"
                )

        return run

    return timer(epochs), timer(1)


def steady_epochs(long_fits, short_fits, long_epochs, short_epochs=1):
    """Per-repeat time of one epoch from paired fits of two lengths.

    ``(t_long - t_short) / (long_epochs - short_epochs)``: what a fit costs
    once (validation, initialisation, first touch of fresh buffers) cancels.

    Parameters
    ----------
    long_fits, short_fits : list of float
        Seconds per fit, repeat by repeat, from the same :func:`interleave` call.
    long_epochs, short_epochs : int

    Returns
    -------
    seconds : list of float
    """
    extra = long_epochs - short_epochs
    return [(a - b) / extra for a, b in zip(long_fits, short_fits, strict=True)]


class MachineLoad:
    """What else used the CPUs between :meth:`start` and :meth:`stop`.

    Reads /proc/stat (Linux only; elsewhere every figure is None). ``others``
    is the share of the machine's CPU time that other processes used: on a
    shared 2-core machine that, and the hypervisor's ``steal``, is what makes
    timings jump.
    """

    def __init__(self):
        self.start()

    def start(self):
        self._begin = (_proc_stat(), time.process_time())
        return self

    def stop(self):
        """Return ``{'others': fraction or None, 'steal': fraction or None}``."""
        (before, own_before), (after, own_after) = self._begin, (_proc_stat(), time.process_time())
        if before is None or after is None or after["total"] <= before["total"]:
            return {"others": None, "steal": None}
        hz = os.sysconf("SC_CLK_TCK")
        total = after["total"] - before["total"]
        busy = after["busy"] - before["busy"]
        own = (own_after - own_before) * hz
        return {
            "others": max(0.0, busy - own) / total,
            "steal": (after["steal"] - before["steal"]) / total,
        }


def _proc_stat():
    """Aggregate CPU ticks from /proc/stat: total, busy and steal; None if unreadable."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()
    except OSError:
        return None
    if fields[0] != "cpu" or len(fields) < 9:
        return None
    user, nice, system, idle, iowait, irq, softirq, steal = (int(v) for v in fields[1:9])
    return {
        "total": sum(int(v) for v in fields[1:9]),
        "busy": user + nice + system + irq + softirq,
        "steal": steal,
    }


def epochs_for(seconds_per_epoch, budget, *, minimum=2, maximum=2000):
    """How many epochs make one timed run last about ``budget`` seconds."""
    if seconds_per_epoch <= 0:
        return maximum
    return int(min(maximum, max(minimum, math.ceil(budget / seconds_per_epoch))))
