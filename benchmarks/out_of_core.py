"""Section ``out_of_core``: training from an HDF5 file with bounded memory.

A problem (class centroid plus unit noise) is written block by block to an
HDF5 file in a temporary directory (``$TMPDIR`` is honoured; everything is
deleted afterwards): at most 500 MB by default, 2 GiB with ``--full``. Each
estimator then trains on it in a subprocess of its own, chunk by chunk, with
:func:`sknn.datasets.iter_h5_batches` and ``partial_fit``, so that the peak
resident memory of that process (``VmHWM``) is the training's alone. The
same is done on a file half the size: bounded memory means the same peak.
"""

import functools
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

from ._core import REPO_ROOT, Column, Figure, Section, Table, Target, format_bytes
from ._data import write_h5

NAME = "out_of_core"
TITLE = "Out-of-core: partial_fit from an HDF5 file with bounded memory"
TARGET_PEAK_OVER_FILE = 0.25
TARGET_GROWTH = 1.25
N_CLASSES = 10
SEPARATION = 0.12  # standard deviation of the centroids' coordinates (the noise has 1)

SIZES = {
    # 350,000 x 784 float64: 2.04 GiB of X.
    "full": dict(n_rows=350_000, n_features=784, chunk_rows=10_000, epochs=2, n_test=10_000),
    # 70,000 x 784: 440 MB (419 MiB) of X and y.
    "default": dict(n_rows=70_000, n_features=784, chunk_rows=5_000, epochs=1, n_test=5_000),
    # Smoke runs train one model: a training process costs seconds of imports.
    "quick": dict(n_rows=8_000, n_features=784, chunk_rows=1_000, epochs=1, n_test=2_000, models=1),
    "tiny": dict(n_rows=2_000, n_features=200, chunk_rows=250, epochs=1, n_test=500, models=1),
}
MODELS = {
    "SoftmaxGD": dict(optimizer="gd", learning_rate=0.05, batch_size=200, random_state=0),
    "ShallowNNClassifier": dict(
        hidden_layer_size=64, optimizer="adam", learning_rate=0.001, batch_size=200, random_state=0
    ),
}
#: The files every model trains on: label -> fraction of the preset's rows.
FILES = {"full": 1.0, "half": 0.5}


# ------------------------------------------------------ the training process
def _peak_rss():
    """High-water mark of this process's resident memory (VmHWM), in bytes.

    Not ``ru_maxrss``: Linux carries the parent's peak into a child's across
    fork and exec, so it would report the benchmark process's peak.
    """
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM:"))


def _rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def worker_main(spec):
    """Train one estimator out of core and print the result as JSON: the subprocess's body.

    ``spec``: ``estimator`` and ``params`` (an sknn class and its parameters),
    ``path``, ``test_path``, ``chunk_rows``, ``epochs``.
    """
    import sknn
    from sknn.datasets import iter_h5_batches, load_h5

    estimator = getattr(sknn, spec["estimator"])(**spec["params"])
    classes = np.arange(N_CLASSES)
    baseline = _peak_rss()  # everything imported, nothing read
    trace, read_seconds, rows = [], 0.0, 0
    start = tick = time.perf_counter()
    for _ in range(spec["epochs"]):
        for X, y in iter_h5_batches(spec["path"], spec["chunk_rows"]):
            tock = time.perf_counter()
            read_seconds += tock - tick
            estimator.partial_fit(X, y, classes=classes)
            tick = time.perf_counter()
            rows += len(y)
            trace.append([rows, _rss(), _peak_rss()])
    train_seconds = time.perf_counter() - start
    peak = _peak_rss()
    X_test, y_test = load_h5(spec["test_path"], return_X_y=True)  # after the peak was taken
    result = dict(baseline=baseline, peak=peak, trace=trace, rows_trained=rows)
    result.update(train_seconds=train_seconds, read_seconds=read_seconds)
    print(json.dumps({**result, "accuracy": float(estimator.score(X_test, y_test))}))


def _train(spec):
    """Run :func:`worker_main` in a fresh interpreter; return its result."""
    code = "import json, sys, benchmarks.out_of_core as m; m.worker_main(json.loads(sys.argv[1]))"
    path = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path}
    done = subprocess.run(
        [sys.executable, "-c", code, json.dumps(spec)], capture_output=True, text=True, env=env
    )
    if done.returncode:
        raise RuntimeError(f"the training process failed:\n{done.stderr}")
    return json.loads(done.stdout.splitlines()[-1])


def _evict(path):
    """Drop the file's pages from the OS cache, so that the first epoch reads from disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


# ---------------------------------------------------------------- the section
def run(config):
    """Write the files, train every model on each in a subprocess, report memory and speed.

    Parameters
    ----------
    config : Config

    Returns
    -------
    section : Section
    """
    sizes = config.pick(SIZES)
    models = dict(list(MODELS.items())[: sizes.get("models", len(MODELS))])
    rng = np.random.default_rng(0)
    centroids = SEPARATION * rng.standard_normal((N_CLASSES, sizes["n_features"]))
    write = dict(block_rows=sizes["chunk_rows"], rng=rng)
    files, runs = {}, {}
    with tempfile.TemporaryDirectory(prefix="sknn-out-of-core-") as directory:
        test_path = os.path.join(directory, "test.h5")
        write_h5(test_path, sizes["n_test"], centroids, **write)
        for label, fraction in FILES.items():
            path, n_rows = os.path.join(directory, f"{label}.h5"), int(fraction * sizes["n_rows"])
            config.progress(f"{NAME}: writing the {label} file, {n_rows:,} x {sizes['n_features']}")
            write_h5(path, n_rows, centroids, **write)
            files[label] = {"rows": n_rows, "bytes": os.path.getsize(path)}
            for model, params in models.items():
                config.progress(f"{NAME}: training {model} on the {label} file")
                _evict(path)
                spec = dict(estimator=model, params=params, path=path, test_path=test_path)
                spec.update(chunk_rows=sizes["chunk_rows"], epochs=sizes["epochs"])
                runs[model, label] = _train(spec)
            os.remove(path)  # the disk holds one training file at a time
    section = Section(NAME, TITLE, _INTRO, tables=[_table(sizes, models, files, runs)])
    section.targets = _targets(config.mode, models, files, runs)
    section.data.update(
        sizes=sizes, files=files, runs={f"{m}|{f}": r for (m, f), r in runs.items()}
    )
    draw = functools.partial(_draw, models=models, files=files, runs=runs)
    section.figures.append(Figure("out_of_core.png", _CAPTION, draw, (10.0, 4.6)))
    growth, peak = section.targets[0], max(r["peak"] for r in runs.values())
    section.summary = (
        f"partial_fit over a {format_bytes(files['full']['bytes'])} HDF5 file peaks at "
        f"{format_bytes(peak)} of resident memory, "
        f"{format_bytes(max(r['baseline'] for r in runs.values()))} of it before training; "
        f"training adds {growth.measured:.2f}x as much on the full file as on the half-size one "
        f"(target ≤ {TARGET_GROWTH}x): the chunk, not the file, sets the memory. Held-out "
        "accuracy: " + ", ".join(f"{m} {runs[m, 'full']['accuracy']:.3f}" for m in models) + "."
    )
    return section


def _table(sizes, models, files, runs):
    chunk_bytes = sizes["chunk_rows"] * sizes["n_features"] * 8
    table = Table("Out-of-core training: memory, speed and held-out accuracy", _COLUMNS)
    for (model, label), result in runs.items():
        increase = result["peak"] - result["baseline"]
        row = dict(model=model, file=f"{label}, {format_bytes(files[label]['bytes'])}")
        row.update(baseline=result["baseline"], peak=result["peak"], increase=increase)
        row.update(
            over_chunk=increase / chunk_bytes, over_file=result["peak"] / files[label]["bytes"]
        )
        row["rows_per_second"] = round(result["rows_trained"] / result["train_seconds"])
        row["read_share"] = result["read_seconds"] / result["train_seconds"]
        table.rows.append({**row, "accuracy": result["accuracy"]})
    described = "; ".join(
        f"{m}({', '.join(f'{k}={v!r}' for k, v in params.items())})" for m, params in models.items()
    )
    table.notes += [
        f"`for X, y in iter_h5_batches(path, {sizes['chunk_rows']:,}): est.partial_fit(X, y, "
        f"classes=range(10))`, {sizes['epochs']} pass(es), chunks of {format_bytes(chunk_bytes)}, "
        f"each trained in mini-batches of 200; {described}. The file's pages are evicted from "
        "the OS cache before each process, so the first pass reads from disk.",
        "Peak RSS: the training process's high-water mark (`VmHWM`: interpreter, NumPy, "
        "SciPy, scikit-learn, h5py and sknn included); before training: the same after the "
        "imports; the increase is what training added. The page cache holding the file is "
        "the kernel's, in no RSS.",
    ]
    return table


def _targets(mode, models, files, runs):
    def increase(model, label):  # floored: a ratio of two near-zero increases means nothing
        return max(runs[model, label]["peak"] - runs[model, label]["baseline"], 2**20)

    growth = {m: increase(m, "full") / increase(m, "half") for m in models}
    worst = max(growth, key=growth.get)
    full = files["full"]["bytes"]
    heaviest = max(models, key=lambda m: runs[m, "full"]["peak"])
    small = f"a {format_bytes(full)} file weighs less than Python and its libraries; --full: 2 GiB"
    growth_name = "out-of-core RSS increase, full / half-size file"
    detail = f"worst model {worst}; same chunks; increases floored at 1 MiB"
    growth_target = Target(growth_name, growth[worst], TARGET_GROWTH, "<=", detail=detail)
    peak_name, peak = (
        f"out-of-core peak RSS / file size ({format_bytes(full)})",
        runs[heaviest, "full"]["peak"],
    )
    peak_target = Target(
        peak_name, peak / full, TARGET_PEAK_OVER_FILE, "<=", detail=f"worst model {heaviest}"
    )
    peak_target.not_measured = "" if mode == "full" else small
    return [growth_target, peak_target]


_CAPTION = (
    "Resident memory of the training process as it reads the full file (left) and the "
    "half-size one (right): the peak so far (solid) and the RSS after each chunk (faint)"
)
_INTRO = (
    "Training on data that need not fit in memory. Bounded memory means a peak set by the "
    "chunk size, not by the file: the half-size file shows it. Only with --full is the file "
    "(2 GiB) large enough for the peak ÷ file size target to mean something."
)
_COLUMNS = [
    Column("model", "model"),
    Column("file", "file"),
    Column("rows_per_second", "rows/s", "int"),
    Column("read_share", "time reading", "percent"),
    Column("baseline", "RSS before training", "bytes"),
    Column("peak", "peak RSS", "bytes"),
    Column("increase", "increase", "bytes"),
    Column("over_chunk", "increase / chunk", "ratio"),
    Column("over_file", "peak / file", "percent"),
    Column("accuracy", "held-out accuracy", "accuracy"),
]


def _draw(figure, models, files, runs):
    axes = figure.subplots(1, len(FILES), sharey=True)
    for ax, label in zip(axes, FILES):
        for i, model in enumerate(models):
            trace = np.array(runs[model, label]["trace"], dtype=float)
            read = trace[:, 0] * files[label]["bytes"] / files[label]["rows"] / 2**20
            ax.plot(read, trace[:, 2] / 2**20, color=f"C{i}", label=f"{model}: peak so far")
            faint = dict(color=f"C{i}", alpha=0.4, lw=0.8, label=f"{model}: RSS after each chunk")
            ax.plot(read, trace[:, 1] / 2**20, **faint)
        ax.set_xlabel("data read so far (MiB)")
        ax.set_title(f"{label} file, {format_bytes(files[label]['bytes'])}", fontsize=10)
    axes[0].set_ylim(0, 1.1 * max(r["peak"] for r in runs.values()) / 2**20)
    axes[0].set_ylabel("resident memory (MiB)")
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside lower center", ncol=2, fontsize=8)
