"""Section ``devices``: the network's epoch and a linear fit on NumPy, PyTorch CPU and CUDA.

The estimators take Array API arrays under
``sklearn.config_context(array_api_dispatch=True)``: a PyTorch tensor is fitted
in PyTorch, on its device. This section times the hardware section's network
(:func:`~benchmarks.hardware.full_batch_network`: full-batch gradient descent,
tanh units) and ``SoftmaxGD`` with its defaults on the same data as NumPy
arrays, as PyTorch CPU tensors and, when ``torch.cuda.is_available()``, as
CUDA tensors, all interleaved in one run.

Each namespace's epoch is set against its own five matrix products
(:data:`~benchmarks.hardware.GEMMS`, in that namespace, into preallocated
outputs), as the hardware section does for NumPy: the issue expects the
epoch on a GPU to be bound by them. On CUDA every timed call ends with
``torch.cuda.synchronize()`` before the clock is read.

PyTorch is optional (no extra of sknn installs it): without it the section
says so and measures nothing.
"""

import os
import time

import numpy as np
from sklearn import config_context
from sklearn.base import clone

from sknn import SoftmaxGD

from . import _data
from ._report import Column, Figure, Section, Table, Target, cross_check_key
from ._timing import (
    blas_setting_label,
    blas_threads,
    compare,
    fit_timers,
    interleave,
    median,
    steady_epochs,
)
from .hardware import GEMMS, TARGET_EPOCH_OVER_GEMMS, epoch_flops, full_batch_network, gemm_replica

NAME = "devices"
TITLE = "Devices: the network's epoch and a linear fit on NumPy, PyTorch CPU and CUDA"
DTYPES = (np.float64, np.float32)
#: BLAS threads of NumPy, and torch.set_num_threads of PyTorch CPU, for every timing.
THREADS = 1

SIZES = {
    "full": dict(
        shape=(20000, 784, 10), hidden=128, epochs=4, repeats=5, linear=("digits", (20000, 784, 10))
    ),
    "quick": dict(shape=(2000, 784, 10), hidden=128, epochs=6, repeats=3, linear=("digits",)),
    "tiny": dict(shape=(300, 50, 3), hidden=16, epochs=3, repeats=1, linear=((300, 20, 3),)),
}

#: Device key -> how the report names it.
DEVICE_LABELS = {"numpy": "NumPy", "torch_cpu": "PyTorch CPU", "cuda": "PyTorch CUDA"}

TORCH_ABSENT = (
    "PyTorch is not installed (`import torch` failed): this section measured nothing. "
    "Install it with `pip install torch` (no extra of sknn installs it) and rerun "
    "`python -m benchmarks --sections devices`."
)
CUDA_ABSENT = (
    "CUDA: not available on this machine (torch.cuda.is_available() is False): GPU rows skipped"
)


def linear_model():
    """The linear fit timed on every device: ``SoftmaxGD`` with its defaults."""
    return SoftmaxGD(random_state=0)


def _import_torch():
    """``torch``, or None when it cannot be imported (``sys.modules['torch'] = None`` too)."""
    try:
        import torch
    except ImportError:
        return None
    return torch


def _array_api_problem():
    """Why array_api_dispatch cannot be used in this process, or "" when it can.

    scikit-learn refuses it unless ``SCIPY_ARRAY_API=1``, and scipy reads the
    variable once, when it is first imported (``benchmarks/__init__.py`` sets it
    before that for ``python -m benchmarks``).
    """
    if os.environ.get("SCIPY_ARRAY_API") != "1":
        return "SCIPY_ARRAY_API is not 1"
    from scipy._lib import _array_api

    if not getattr(_array_api, "SCIPY_ARRAY_API", True):
        return "scipy was imported before SCIPY_ARRAY_API=1 was set"
    return ""


def _devices(torch):
    """Device key -> (move an ndarray there, wait for the device), in running order."""

    def nothing():
        pass

    devices = {
        "numpy": (lambda a: a, nothing),
        "torch_cpu": (lambda a: torch.asarray(a, device="cpu"), nothing),
    }
    if torch.cuda.is_available():
        devices["cuda"] = (lambda a: torch.asarray(a, device="cuda"), torch.cuda.synchronize)
    return devices


def torch_gemm_replica(torch, X, hidden, n_classes, repeats, per_product, sync):
    """The epoch's five matrix products in PyTorch, on X's device, into preallocated outputs.

    The PyTorch twin of :func:`~benchmarks.hardware.gemm_replica` (same
    products, operand layouts and seeds): sknn's PyTorch path runs the same
    products, with ``@``. ``sync`` waits for the device before each clock read.

    Returns
    -------
    run : callable
        Runs ``repeats`` rounds, appends each product's seconds per round to
        ``per_product`` and returns ``repeats``.
    """
    m, n = X.shape
    rng = np.random.default_rng(0)
    dtype = np.float32 if X.dtype == torch.float32 else np.float64

    def moved(shape):
        return torch.asarray(rng.standard_normal(shape).astype(dtype), device=X.device)

    W1, W2 = moved((n, hidden)), moved((hidden, n_classes))
    dZ2 = moved((n_classes, m)).T
    A1T, dZ1T, Z2T, gW2, gW1T = (
        torch.empty(shape, dtype=X.dtype, device=X.device)
        for shape in ((hidden, m), (hidden, m), (n_classes, m), (hidden, n_classes), (hidden, n))
    )
    products = (
        lambda: torch.matmul(W1.T, X.T, out=A1T),
        lambda: torch.matmul(W2.T, A1T, out=Z2T),
        lambda: torch.matmul(A1T, dZ2, out=gW2),
        lambda: torch.matmul(W2, dZ2.T, out=dZ1T),
        lambda: torch.matmul(dZ1T, X, out=gW1T),
    )

    def run():
        totals = [0.0] * len(products)
        for _ in range(repeats):
            for i, product in enumerate(products):
                sync()
                start = time.perf_counter()
                product()
                sync()
                totals[i] += time.perf_counter() - start
        for i, total in enumerate(totals):
            per_product[i].append(total / repeats)
        return repeats

    return run


def _synced(fn, sync):
    """``fn`` followed by a wait for the device, so its time includes the device's work."""

    def run():
        units = fn()
        sync()
        return units

    return run


def _linear_problems(config, sizes):
    """Name -> Dataset of the linear fits."""
    problems = {}
    for spec in sizes["linear"]:
        data = _data.load(spec, config) if isinstance(spec, str) else _data.generated(*spec)
        problems[data.label] = data
    return problems


def _candidates(torch, sizes, problems):
    """Every timed callable of the run, and where the per-product times and models go."""
    m, n, k = sizes["shape"]
    hidden, epochs = sizes["hidden"], sizes["epochs"]
    candidates, per_product, models = {}, {}, {}
    for device, (move, sync) in _devices(torch).items():
        for dtype in DTYPES:
            data = _data.generated(m, n, k, dtype)
            X, y = move(data.X_train), move(data.y_train)
            d = dtype.__name__
            lists = per_product[device, d] = [[] for _ in GEMMS]
            long_fit, short_fit = fit_timers(full_batch_network(hidden), X, y, epochs, THREADS)
            if device == "numpy":
                gemms = gemm_replica(X, hidden, k, epochs, lists)
            else:
                gemms = torch_gemm_replica(torch, X, hidden, k, epochs, lists, sync)
            candidates[device, d, "long_fit"] = _synced(long_fit, sync)
            candidates[device, d, "short_fit"] = _synced(short_fit, sync)
            candidates[device, d, "gemms"] = gemms
        for label, data in problems.items():
            X, y = move(data.X_train), move(data.y_train)
            candidates[device, label, "linear"] = _linear_fit(X, y, models, (device, label), sync)
    return candidates, per_product, models


def _linear_fit(X, y, models, key, sync):
    def run():
        with blas_threads(THREADS):
            models[key] = (clone(linear_model()).fit(X, y), X)
        sync()

    return run


def run(config):
    """Time the network's epoch, its GEMMs and a linear fit on every device at hand.

    Parameters
    ----------
    config : Config

    Returns
    -------
    section : Section
    """
    sizes = config.pick(SIZES)
    torch = _import_torch()
    problem = _array_api_problem()
    if torch is None or problem:
        return _skipped(torch, problem)
    m, n, k = sizes["shape"]
    h = sizes["hidden"]
    cuda = torch.cuda.is_available()
    config.progress(
        f"{NAME}: {m}x{n}, {h} tanh units, {k} classes on NumPy, PyTorch CPU"
        + (", CUDA" if cuda else " (no CUDA)")
    )
    problems = _linear_problems(config, sizes)
    torch_threads = torch.get_num_threads()
    torch.set_num_threads(THREADS)
    try:
        with config_context(array_api_dispatch=True):
            candidates, per_product, models = _candidates(torch, sizes, problems)
            samples = interleave(
                candidates,
                sizes["repeats"],
                config=config,
                label=f"{NAME}:   ",
                threads=dict.fromkeys(candidates, THREADS),
            )
            agreement = _agreement(models)
    finally:
        torch.set_num_threads(torch_threads)
    devices = [d for d in DEVICE_LABELS if any(key[0] == d for key in candidates)]
    # The warm-up round appended to per_product too: keep the timed rounds.
    per_product = {
        key: [s[-sizes["repeats"] :] for s in lists] for key, lists in per_product.items()
    }
    for device in devices:
        for dtype in DTYPES:
            key = (device, dtype.__name__)
            samples[key + ("epoch",)] = steady_epochs(
                samples[key + ("long_fit",)], samples[key + ("short_fit",)], sizes["epochs"]
            )

    section = Section(NAME, TITLE, _intro(sizes, cuda))
    epoch_table, targets = _epoch_table(samples, devices, sizes)
    linear_table = _linear_table(samples, devices, problems, agreement, sizes)
    section.tables += [
        epoch_table,
        _against_numpy_table(samples, devices, problems, sizes),
        linear_table,
        _product_table(per_product, devices, sizes),
    ]
    section.targets += targets
    for dtype in DTYPES:
        epoch = samples["numpy", dtype.__name__, "epoch"]
        key = cross_check_key(dtype.__name__, blas_setting_label(THREADS), (m, n, k), h)
        section.cross_checks[key] = {"median": median(epoch), "range": (min(epoch), max(epoch))}
    section.data.update(
        torch={"available": True, "version": torch.__version__, "status": "installed"},
        cuda=(
            {"available": True, "device": torch.cuda.get_device_name(0), "status": "measured"}
            if cuda
            else {"available": False, "status": CUDA_ABSENT}
        ),
        threads={"blas": THREADS, "torch": THREADS, "torch_default": torch_threads},
        samples={"|".join(key): v for key, v in samples.items()},
        per_product={"|".join(key): v for key, v in per_product.items()},
        linear_agreement={"|".join(key): v for key, v in agreement.items()},
    )
    if not cuda:
        section.notes.append(CUDA_ABSENT + ".")
    section.figures.append(
        Figure(
            "devices.png",
            f"The network's full-batch epoch and its five matrix products, {m} x {n}, {h} tanh "
            f"units, on each device ({blas_setting_label(THREADS)}, PyTorch "
            f"{THREADS} thread" + ("" if cuda else "; no CUDA on this machine") + ")",
            lambda fig: _draw(fig, epoch_table.rows, devices),
            size=(7.0, 3.8),
        )
    )
    section.summary = _summary(epoch_table.rows, linear_table.rows, samples, cuda, sizes)
    return section


def _skipped(torch, problem):
    """The section when it cannot run: says why, renders, and has no figures."""
    if torch is None:
        status = TORCH_ABSENT
    else:
        status = (
            f"array_api_dispatch is unavailable in this process ({problem}): this section "
            "measured nothing. `python -m benchmarks` sets SCIPY_ARRAY_API=1 before scipy is "
            "imported; set it yourself (`SCIPY_ARRAY_API=1 python ...`) when importing the "
            "benchmarks from other code."
        )
    section = Section(NAME, TITLE, status)
    section.summary = "skipped: " + status
    section.notes.append(status)
    section.data["torch"] = {
        "available": torch is not None,
        "status": status if torch is None else "installed",
    }
    section.data["array_api"] = problem or "available"
    section.data["cuda"] = {"available": None, "status": "not checked: " + status}
    return section


def _agreement(models):
    """Per (device, problem): n_iter_ and max |predict_proba - NumPy's|, on the training X."""
    proba, n_iter = {}, {}
    for key, (model, X) in models.items():
        p = model.predict_proba(X)
        proba[key] = p if isinstance(p, np.ndarray) else np.asarray(p.cpu())
        n_iter[key] = int(np.max(np.asarray(model.n_iter_)))
    agreement = {}
    for device, label in models:
        reference = proba["numpy", label]
        agreement[device, label] = {
            "n_iter": n_iter[device, label],
            "numpy_n_iter": n_iter["numpy", label],
            "max_abs_proba_diff": float(np.max(np.abs(proba[device, label] - reference))),
        }
    return agreement


def _epoch_table(samples, devices, sizes):
    m, n, k = sizes["shape"]
    h = sizes["hidden"]
    flops = epoch_flops(m, n, h, k)
    table = Table(
        f"Network epoch and its five GEMMs per device, {m}x{n}, {h} tanh units, {k} classes "
        f"({flops / 1e9:.2f} GFLOP of matrix products per epoch)",
        [
            Column("dtype", "dtype"),
            Column("device", "device"),
            Column("epoch_seconds", "epoch", "seconds"),
            Column("epoch_gflops", "epoch GFLOP/s", "gflops"),
            Column("gemms_seconds", "its five GEMMs", "seconds"),
            Column("epoch_over_gemms", "epoch / GEMMs", "ratio"),
            Column("epoch_over_gemms_range", "lowest – highest repeat", "range"),
            Column("target", "target"),
            Column("status", "status"),
        ],
    )
    targets = []
    for dtype in DTYPES:
        d = dtype.__name__
        for device in devices:
            epoch, gemms = samples[device, d, "epoch"], samples[device, d, "gemms"]
            ratio = compare(epoch, gemms)
            row = {
                "dtype": d,
                "device": DEVICE_LABELS[device],
                "epoch_seconds": ratio["numerator"],
                "epoch_gflops": flops / ratio["numerator"] / 1e9,
                "gemms_seconds": ratio["denominator"],
                "epoch_over_gemms": ratio["ratio"],
                "epoch_over_gemms_range": ratio["ratio_range"],
            }
            if device != "numpy":  # NumPy's is the hardware section's target
                target = Target(
                    f"network epoch / its five GEMMs on {DEVICE_LABELS[device]}, {d}",
                    ratio["ratio"],
                    TARGET_EPOCH_OVER_GEMMS,
                    "<=",
                    "steady full-batch epoch on the tensors over the same five products in "
                    "PyTorch on that device (the devices table's two columns)",
                )
                targets.append(target)
                row.update(target=f"<= {TARGET_EPOCH_OVER_GEMMS:g}x", status=target.status)
            table.rows.append(row)
    table.notes += [
        f"{blas_setting_label(THREADS)} for NumPy, `torch.set_num_threads({THREADS})` for "
        "PyTorch CPU (restored afterwards). Epoch: `ShallowNNClassifier(optimizer='gd', "
        "batch_size=None, tol=None)` fitted on the NumPy array or the tensor under "
        "`sklearn.config_context(array_api_dispatch=True)`, steady state: (time of a "
        f"{sizes['epochs']}-epoch fit − time of a 1-epoch fit) / {sizes['epochs'] - 1}.",
        "GEMMs: the epoch's five matrix products in the device's own namespace (`np.matmul` "
        "or `torch.matmul`, into preallocated outputs); on CUDA each is timed between two "
        "`torch.cuda.synchronize()`, and each fit ends with one.",
        f"Medians of {sizes['repeats']} interleaved repeats after a warm-up round. Epoch / "
        "GEMMs is the ratio of the two medians left of it; its range, the lowest and highest "
        "per-repeat ratio. The NumPy rows' target is the hardware section's.",
    ]
    return table, targets


def _against_numpy_table(samples, devices, problems, sizes):
    table = Table(
        "PyTorch against NumPy: the same work on each device",
        [
            Column("work", "work"),
            Column("device", "device"),
            Column("numpy_seconds", "NumPy", "seconds"),
            Column("device_seconds", "on the device", "seconds"),
            Column("ratio", "device / NumPy", "ratio"),
            Column("ratio_range", "lowest – highest repeat", "range"),
        ],
    )
    work = [(f"network epoch, {d}", (d, "epoch")) for d in (t.__name__ for t in DTYPES)]
    work += [(f"five GEMMs, {d}", (d, "gemms")) for d in (t.__name__ for t in DTYPES)]
    work += [(f"SoftmaxGD fit, {label}", (label, "linear")) for label in problems]
    for name, key in work:
        for device in devices[1:]:
            ratio = compare(samples[(device,) + key], samples[("numpy",) + key])
            table.rows.append(
                {
                    "work": name,
                    "device": DEVICE_LABELS[device],
                    "numpy_seconds": ratio["denominator"],
                    "device_seconds": ratio["numerator"],
                    "ratio": ratio["ratio"],
                    "ratio_range": ratio["ratio_range"],
                }
            )
    table.notes.append(
        "Device / NumPy is the ratio of the two medians left of it (above 1: slower than "
        "NumPy); its range, the lowest and highest ratio of one repeat's pair. Epochs per "
        "epoch, GEMMs per round of five, fits per whole fit; all from the same "
        f"interleaved run, {blas_setting_label(THREADS)} and PyTorch {THREADS} thread."
    )
    return table


def _linear_table(samples, devices, problems, agreement, sizes):
    table = Table(
        "Linear fit: SoftmaxGD with its defaults, and whether the devices agree",
        [
            Column("problem", "data"),
            Column("device", "device"),
            Column("fit_seconds", "fit time", "seconds"),
            Column("n_iter", "n_iter_", "int"),
            Column("iteration_seconds", "per iteration", "seconds"),
            Column("same_n_iter", "same n_iter_ as NumPy"),
            Column("max_abs_proba_diff", "max |Δ predict_proba| vs NumPy", "sci"),
        ],
    )
    for label in problems:
        for device in devices:
            found = agreement[device, label]
            seconds = median(samples[device, label, "linear"])
            table.rows.append(
                {
                    "problem": label,
                    "device": DEVICE_LABELS[device],
                    "fit_seconds": seconds,
                    "n_iter": found["n_iter"],
                    "iteration_seconds": seconds / found["n_iter"],
                    "same_n_iter": "yes" if found["n_iter"] == found["numpy_n_iter"] else "NO",
                    "max_abs_proba_diff": found["max_abs_proba_diff"],
                }
            )
    table.notes += [
        "`SoftmaxGD(random_state=0)` (its defaults: Nesterov with line search, tol=1e-5, "
        "learning_rate='auto') fitted on float64 data as a NumPy array or a tensor under "
        f"`array_api_dispatch`; fit time: median of {sizes['repeats']} interleaved repeats, "
        "set-up and the step-size estimate included. Per iteration: fit time / n_iter_.",
        "Cross-check: the fits should stop at the same iteration and predict the same "
        "probabilities (on the training X) to rounding; the difference is the device's "
        "against NumPy's.",
    ]
    for data in problems.values():
        table.notes.append(f"{data.label}: {data.source}.")
    return table


def _product_table(per_product, devices, sizes):
    columns = [Column("product", "product")]
    rows = [{"product": label} for label, _ in GEMMS] + [{"product": "five GEMMs"}]
    for dtype in DTYPES:
        d = dtype.__name__
        for device in devices:
            key = f"{device}_{d}"
            columns.append(Column(key, f"{DEVICE_LABELS[device]}, {d}", "seconds"))
            times = [median(p) for p in per_product[device, d]]
            for row, seconds in zip(rows, times + [sum(times)]):
                row[key] = seconds
    return Table(
        "The five products one by one, per device",
        columns,
        rows,
        notes=[
            "Medians per product of the GEMM rounds timed above; their sum is close to, not "
            "equal to, the median of the rounds' totals in the first table."
        ],
    )


def _summary(epoch_rows, linear_rows, samples, cuda, sizes):
    m, n, _ = sizes["shape"]
    parts = []
    for dtype in DTYPES:
        d = dtype.__name__
        ratio = compare(samples["torch_cpu", d, "epoch"], samples["numpy", d, "epoch"])
        over = {r["device"]: r["epoch_over_gemms"] for r in epoch_rows if r["dtype"] == d}
        parts.append(
            f"{d}: PyTorch CPU's epoch is {ratio['ratio']:.2f}x NumPy's, epoch / GEMMs "
            + ", ".join(f"{v:.2f}x on {dev}" for dev, v in over.items())
        )
    fits = [r for r in linear_rows if r["device"] != "NumPy"]
    agree = all(r["same_n_iter"] == "yes" for r in fits)
    worst = max(r["max_abs_proba_diff"] for r in fits)
    linear = "; ".join(
        f"{r['problem']} {r['fit_seconds'] / _numpy_fit(linear_rows, r['problem']):.2f}x "
        f"on {r['device']}"
        for r in fits
    )
    return (
        f"the network's full-batch epoch on {m} x {n}, one thread each: "
        + "; ".join(parts)
        + f" (target ≤ {TARGET_EPOCH_OVER_GEMMS:g}x on PyTorch). SoftmaxGD's default fit "
        f"against NumPy's: {linear}; "
        + ("same n_iter_" if agree else "n_iter_ DIFFERS")
        + f", predict_proba within {worst:.1e}."
        + ("" if cuda else " No CUDA on this machine: GPU rows skipped.")
    )


def _numpy_fit(linear_rows, problem):
    return next(r["fit_seconds"] for r in linear_rows if r["problem"] == problem)


def _intro(sizes, cuda):
    m, n, k = sizes["shape"]
    h = sizes["hidden"]
    text = (
        "The same estimators on the same data, given as NumPy arrays, PyTorch CPU tensors "
        "and, where there is a GPU, CUDA tensors, fitted under "
        "`sklearn.config_context(array_api_dispatch=True)`: sknn then computes in the "
        "tensors' namespace and on their device. The network is the hardware section's "
        f"(full-batch gradient descent, {h} tanh units), on {m} x {n}, {k} classes; the linear "
        "fit is SoftmaxGD with its defaults. Everything is interleaved in one run, one "
        "thread per device on the CPU."
    )
    return text + ("" if cuda else f" **{CUDA_ABSENT}.**")


def _draw(figure, rows, devices):
    ax = figure.subplots()
    groups = [(r["dtype"], r["device"]) for r in rows]
    x = np.arange(len(groups))
    ax.bar(x - 0.2, [r["epoch_seconds"] for r in rows], 0.4, label="epoch", color="tab:blue")
    ax.bar(
        x + 0.2, [r["gemms_seconds"] for r in rows], 0.4, label="its five GEMMs", color="tab:gray"
    )
    for xi, r in zip(x, rows):
        ax.annotate(
            f"{r['epoch_over_gemms']:.2f}x",
            (xi - 0.2, r["epoch_seconds"]),
            ha="center",
            va="bottom",
            fontsize=8,
        )
    ax.set_xticks(x, [f"{device}\n{dtype}" for dtype, device in groups], fontsize=8)
    ax.set_ylabel("seconds (median)")
    ax.set_title("Network epoch and its matrix products; label: epoch / GEMMs", fontsize=9)
    ax.legend(fontsize=8)
