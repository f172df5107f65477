"""Section ``devices``: the same fits on NumPy arrays and on PyTorch CPU tensors.

The estimators take Array API arrays under
``sklearn.config_context(array_api_dispatch=True)``: a PyTorch tensor is
fitted in PyTorch. This section times the hardware section's network
(full-batch gradient descent, a fixed number of epochs) and ``SoftmaxGD``
with its defaults, on NumPy (dispatch off, the usual path) and on PyTorch
CPU tensors, interleaved, one thread each, and checks that both give the
same model. GPUs are not timed here.

PyTorch is optional (no extra of sknn installs it), and scikit-learn needs
``SCIPY_ARRAY_API=1`` before scipy is first imported; without either the
section is skipped, saying why and how to include it.
"""

import numpy as np
from sklearn import config_context

from sknn import SoftmaxGD

from . import _data
from ._core import Column, Section, Table, blas_label, compare, interleave, pair
from .hardware import full_batch_network

NAME = "devices"
TITLE = "Devices: NumPy arrays against PyTorch CPU tensors (array_api_dispatch)"
#: BLAS threads of NumPy, and torch.set_num_threads of PyTorch, in every timing.
THREADS = 1
TORCH_COMMAND = "pip install torch==2.13.0 && python -m benchmarks --sections devices"
ARRAY_API_COMMAND = "SCIPY_ARRAY_API=1 python -m benchmarks --sections devices"

SIZES = {
    "full": dict(shape=(20000, 784, 10), hidden=128, epochs=5, linear="digits", repeats=5),
    "default": dict(shape=(5000, 784, 10), hidden=128, epochs=5, linear="digits", repeats=3),
    "quick": dict(shape=(1000, 256, 10), hidden=64, epochs=3, linear="iris", repeats=1),
    "tiny": dict(shape=(300, 50, 3), hidden=16, epochs=3, linear="iris", repeats=1),
}


def why_not():
    """``(reason, command)`` when this process cannot run the section, else None."""
    try:
        import torch  # noqa: F401
    except ImportError:
        return "PyTorch is not installed (no extra of sknn installs it).", TORCH_COMMAND
    try:
        with config_context(array_api_dispatch=True):
            pass
    except RuntimeError as exc:  # scikit-learn's own check of SCIPY_ARRAY_API
        return f"array_api_dispatch is unavailable: {exc}", ARRAY_API_COMMAND
    return None


def _candidate(estimator, X, y, fitted, key):
    """A timed fit, under array_api_dispatch for PyTorch tensors; returns the epochs run."""
    on_torch = not isinstance(X, np.ndarray)

    def run(_):
        with config_context(array_api_dispatch=on_torch):
            fitted[key] = estimator.fit(X, y), X
        return int(np.max(np.asarray(estimator.n_iter_))) if key[1] != "SoftmaxGD" else None

    return run


def _proba(model, X):
    """predict_proba as a NumPy array, from either kind of input."""
    if isinstance(X, np.ndarray):
        return model.predict_proba(X)
    with config_context(array_api_dispatch=True):
        return np.asarray(model.predict_proba(X).cpu())


def run(config):
    """Time the network's epoch and a default SoftmaxGD fit on NumPy and PyTorch CPU.

    Parameters
    ----------
    config : Config

    Returns
    -------
    section : Section
    """
    problem = why_not()
    if problem:
        reason, command = problem
        return Section(NAME, TITLE, skipped=reason, command=command, summary=f"skipped: {reason}")
    import torch

    sizes = config.pick(SIZES)
    (m, n, k), h, epochs = sizes["shape"], sizes["hidden"], sizes["epochs"]
    linear = _data.bundled(sizes["linear"])
    workloads = {
        (dtype, f"network epoch, {m} x {n}, {h} tanh units"): (
            full_batch_network(h, epochs),
            _data.generated(m, n, k, np.dtype(dtype).type),
        )
        for dtype in ("float64", "float32")
    }
    workloads["float64", "SoftmaxGD"] = (SoftmaxGD(), linear)
    candidates, fitted = {}, {}
    for (dtype, workload), (estimator, data) in workloads.items():
        X, y = data.X_train, data.y_train
        inputs = {"numpy": (X, y), "torch": (torch.asarray(X), torch.asarray(y))}
        for device, (X, y) in inputs.items():
            fresh = estimator.__class__(**estimator.get_params())
            candidates[dtype, workload, device] = _candidate(
                fresh, X, y, fitted, (dtype, workload, device)
            )
    config.progress(f"{NAME}: {len(workloads)} workloads on NumPy and PyTorch CPU")
    previous = torch.get_num_threads()
    torch.set_num_threads(THREADS)
    try:
        threads = dict.fromkeys(candidates, THREADS)
        label = f"{NAME}:   "
        samples = interleave(
            candidates, sizes["repeats"], threads=threads, config=config, label=label
        )
    finally:
        torch.set_num_threads(previous)
    table = Table("NumPy against PyTorch CPU, same estimator and data", _COLUMNS)
    for dtype, workload in workloads:
        ratio = compare(samples[dtype, workload, "torch"], samples[dtype, workload, "numpy"])
        (ours, X_ours), (theirs, X_theirs) = (
            fitted[dtype, workload, d] for d in ("numpy", "torch")
        )
        iterations = [int(np.max(np.asarray(model.n_iter_))) for model in (theirs, ours)]
        table.rows.append(
            {
                "workload": f"SoftmaxGD() fit, {linear.label}"
                if workload == "SoftmaxGD"
                else workload,
                "dtype": dtype,
                "pair": pair(ratio),
                "n_iter": " vs ".join(map(str, iterations)),
                "proba": float(np.max(np.abs(_proba(theirs, X_theirs) - _proba(ours, X_ours)))),
            }
        )
    table.notes.append(
        f"Medians of {sizes['repeats']} interleaved rounds after a warm-up round, range over "
        f"the rounds; {blas_label(THREADS)} for NumPy, `torch.set_num_threads({THREADS})` for "
        f"PyTorch. Network: a {epochs}-epoch fit / {epochs}; SoftmaxGD: a whole default fit. "
        "NumPy runs with array_api_dispatch off (the usual path), PyTorch with it on. Same "
        "model: both iteration counts and the largest difference of predict_proba on the "
        "training rows."
    )
    section = Section(NAME, TITLE, _INTRO.format(torch=torch.__version__), tables=[table])
    section.data["samples"] = {"|".join(key): v for key, v in samples.items()}
    section.summary = (
        "PyTorch CPU against NumPy, one thread each: "
        + "; ".join(
            f"{r['workload']} ({r['dtype']}): {r['pair']}, predict_proba within {r['proba']:.0e}"
            for r in table.rows
        )
        + "."
    )
    return section


_INTRO = (
    "PyTorch {torch} on the CPU. A ratio above 1 means the tensors are slower than NumPy "
    "arrays for the same fit."
)
_COLUMNS = [
    Column("workload", "workload"),
    Column("dtype", "dtype"),
    Column("pair", "time: PyTorch CPU vs NumPy = ratio (range)"),
    Column("n_iter", "iterations: PyTorch vs NumPy"),
    Column("proba", "max |Δ predict_proba|", "sci"),
]
