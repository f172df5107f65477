"""Section ``out_of_core``: training from an HDF5 file bigger than it may hold.

A classification problem (class centroid plus unit noise) is written, block
by block, to an HDF5 file in a temporary directory (``$TMPDIR`` is honoured;
the directory is deleted afterwards): over 2 GiB of float64 X in a full run.
Each estimator then trains on it in a subprocess of its own, with
:func:`sknn.datasets.iter_h5_batches` and ``partial_fit``, chunk by chunk,
so that the peak resident memory of that process (its ``VmHWM``; see
:func:`_max_rss_bytes` for why not ``ru_maxrss``) is the training's alone.
The same is done on a file half the size, with the same chunks: bounded
memory means the peak does not grow with the file.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

from ._config import REPO_ROOT
from ._data import write_h5_problem
from ._report import Column, Figure, Section, Table, Target, format_bytes

NAME = "out_of_core"
TITLE = "Out-of-core: training from an HDF5 file larger than 2 GiB with bounded memory"
TARGET_PEAK_OVER_FILE = 0.25
TARGET_GROWTH = 1.25

N_CLASSES = 10
#: Standard deviation of the class centroids' coordinates (the noise has 1).
SEPARATION = 0.12

SIZES = {
    # 350,000 x 784 float64 = 2.2e9 bytes (2.04 GiB) of X.
    "full": dict(n_rows=350_000, n_features=784, chunk_rows=10_000, epochs=2, n_test=10_000),
    # About 50 MB of X.
    "quick": dict(n_rows=8_000, n_features=784, chunk_rows=1_000, epochs=2, n_test=2_000),
    "tiny": dict(n_rows=2_000, n_features=200, chunk_rows=250, epochs=1, n_test=500),
}

#: Estimator class (in :mod:`sknn`) -> its parameters.
MODELS = {
    "SoftmaxGD": dict(batch_size=200, learning_rate=0.05, random_state=0),
    "ShallowNNClassifier": dict(
        hidden_layer_size=64,
        optimizer="adam",
        learning_rate=0.001,
        batch_size=200,
        random_state=0,
    ),
}

#: The two files every model trains on: label -> fraction of the preset's rows.
FILES = {"full": 1.0, "half": 0.5}
#: The training process reports at most this often (seconds), and at each epoch's end.
REPORT_SECONDS = 3.0


# ------------------------------------------------------------ the data files
def evict_from_page_cache(path):
    """Ask the kernel to drop the file's cached pages, so the next read is from disk.

    Returns
    -------
    evicted : bool
        False where ``posix_fadvise`` is not available.
    """
    if not hasattr(os, "posix_fadvise"):
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
    return True


# ------------------------------------------------------ the training process
def _max_rss_bytes():
    """Peak resident set size of this process so far.

    On Linux, ``VmHWM`` of ``/proc/self/status``: the high-water mark of this
    process's own address space. ``ru_maxrss`` is not used there because the
    kernel carries the parent's peak into it across fork and exec, so a
    subprocess of a big benchmark process would report the parent's peak.
    Elsewhere, ``ru_maxrss``.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return _ru_maxrss_bytes()


def _ru_maxrss_bytes():
    """``getrusage(RUSAGE_SELF).ru_maxrss`` in bytes (KiB on Linux, bytes on macOS)."""
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def _current_rss_bytes():
    """Resident set size of this process now, or None off Linux."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _emit(kind, payload):
    print(kind, payload if isinstance(payload, str) else json.dumps(payload), flush=True)


def worker_main(argv):
    """Train one estimator out of core; the entry point of the training subprocess.

    ``argv[0]`` is a JSON spec: ``estimator`` and ``params`` (an :mod:`sknn`
    class and its parameters), ``path``, ``test_path``, ``chunk_rows``,
    ``epochs``, ``n_classes``. Progress lines (``progress <text>``) and the
    result (``result <json>``) go to stdout.

    Returns
    -------
    status : int
    """
    import sknn
    from sknn.datasets import iter_h5_batches, load_h5

    spec = json.loads(argv[0])
    estimator = getattr(sknn, spec["estimator"])(**spec["params"])
    classes = np.arange(spec["n_classes"])
    path, chunk_rows, epochs = spec["path"], spec["chunk_rows"], spec["epochs"]
    with h5py.File(path, "r") as f:
        n_rows = len(f["y"])
    n_chunks = -(-n_rows // chunk_rows)
    # Everything imported, nothing read: what the process weighs before training.
    baseline_peak, baseline_current = _max_rss_bytes(), _current_rss_bytes()
    trace, epoch_seconds = [], []
    read_seconds = fit_seconds = 0.0
    rows_seen = 0
    start = last_report = time.perf_counter()
    for epoch in range(epochs):
        epoch_start = tick = time.perf_counter()
        for i, (X, y) in enumerate(iter_h5_batches(path, chunk_rows)):
            tock = time.perf_counter()
            estimator.partial_fit(X, y, classes=classes)
            read_seconds += tock - tick
            tick = time.perf_counter()
            fit_seconds += tick - tock
            rows_seen += len(y)
            trace.append([rows_seen, _current_rss_bytes(), _max_rss_bytes()])
            if tick - last_report >= REPORT_SECONDS or i + 1 == n_chunks:
                last_report = tick
                _emit(
                    "progress",
                    f"epoch {epoch + 1}/{epochs}, chunk {i + 1}/{n_chunks}, peak RSS "
                    f"{format_bytes(_max_rss_bytes())}",
                )
        epoch_seconds.append(time.perf_counter() - epoch_start)
    train_seconds = time.perf_counter() - start
    peak = _max_rss_bytes()
    # The held-out rows are read only now, after the peak was taken.
    X_test, y_test = load_h5(spec["test_path"], return_X_y=True)
    _emit(
        "result",
        {
            "n_rows": n_rows,
            "rows_trained": rows_seen,
            "train_seconds": train_seconds,
            "epoch_seconds": epoch_seconds,
            "read_seconds": read_seconds,
            "fit_seconds": fit_seconds,
            "baseline_peak": baseline_peak,
            "baseline_current": baseline_current,
            "peak": peak,
            "ru_maxrss": _ru_maxrss_bytes(),
            "trace": trace,
            "accuracy": float(estimator.score(X_test, y_test)),
            "final_loss": float(estimator.loss_curve_[-1]),
        },
    )
    return 0


_WORKER_CODE = (
    "import sys; from benchmarks.out_of_core import worker_main; "
    "sys.exit(worker_main(sys.argv[1:]))"
)


def train_in_subprocess(config, spec, label):
    """Run :func:`worker_main` in a fresh Python process; relay its progress.

    Returns
    -------
    result : dict
        The worker's result, plus ``process_seconds`` (wall time of the whole
        process, start-up and imports included).
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH")) if p)
    result = None
    start = time.perf_counter()
    with tempfile.TemporaryFile(mode="w+") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-c", _WORKER_CODE, json.dumps(spec)],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
        with process:
            for line in process.stdout:
                kind, _, payload = line.rstrip("\n").partition(" ")
                if kind == "progress":
                    config.progress(f"{NAME}:   {label}: {payload}")
                elif kind == "result":
                    result = json.loads(payload)
        if process.returncode != 0 or result is None:
            stderr.seek(0)
            raise RuntimeError(
                f"the training subprocess for {label} failed (exit status "
                f"{process.returncode}):\n{stderr.read()}"
            )
    result["process_seconds"] = time.perf_counter() - start
    return result


# ------------------------------------------------------------------ section
def _check_free_space(directory, n_bytes):
    free = shutil.disk_usage(directory).free
    if free < 1.1 * n_bytes + 2**28:
        raise RuntimeError(
            f"{NAME} needs about {format_bytes(n_bytes)} free in {directory} (it has "
            f"{format_bytes(free)}); point TMPDIR at a larger disk"
        )


def run(config):
    """Write the files, train every model on each in its own process, report.

    Parameters
    ----------
    config : Config

    Returns
    -------
    section : Section
    """
    sizes = config.pick(SIZES)
    n_features, chunk_rows = sizes["n_features"], sizes["chunk_rows"]
    row_bytes = n_features * np.dtype(np.float64).itemsize
    centroids = np.random.default_rng(0).standard_normal((N_CLASSES, n_features)) * SEPARATION
    files, runs = {}, {}
    section_start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="sknn-out-of-core-") as directory:
        config.progress(f"{NAME}: temporary directory {directory}")
        test_path = os.path.join(directory, "test.h5")
        write_h5_problem(test_path, sizes["n_test"], centroids, block_rows=chunk_rows, seed=1)
        for seed, (label, fraction) in enumerate(FILES.items(), start=2):
            n_rows = int(sizes["n_rows"] * fraction)
            _check_free_space(directory, n_rows * row_bytes)
            path = os.path.join(directory, f"{label}.h5")

            def progress(done, label=label, n_rows=n_rows):
                config.progress(
                    f"{NAME}: writing the {label} file: {done:,}/{n_rows:,} rows "
                    f"({format_bytes(done * row_bytes)})"
                )

            start = time.perf_counter()
            file_bytes = write_h5_problem(
                path, n_rows, centroids, block_rows=chunk_rows, seed=seed, progress=progress
            )
            write_seconds = time.perf_counter() - start
            files[label] = {
                "file": label,
                "n_rows": n_rows,
                "n_features": n_features,
                "x_bytes": n_rows * row_bytes,
                "file_bytes": file_bytes,
                "chunk_rows": chunk_rows,
                "chunk_bytes": chunk_rows * row_bytes,
                "n_chunks": -(-n_rows // chunk_rows),
                "write_seconds": write_seconds,
                "write_rate": file_bytes / write_seconds,
            }
            for model, params in MODELS.items():
                evicted = evict_from_page_cache(path)
                config.progress(f"{NAME}: training {model} on the {label} file")
                spec = {
                    "estimator": model,
                    "params": params,
                    "path": path,
                    "test_path": test_path,
                    "chunk_rows": chunk_rows,
                    "epochs": sizes["epochs"],
                    "n_classes": N_CLASSES,
                }
                result = train_in_subprocess(config, spec, f"{model}, {label} file")
                result["cold_start"] = evicted
                runs[model, label] = result
            os.remove(path)  # before the next file: the disk holds one at a time
    section_seconds = time.perf_counter() - section_start
    return _section(config.mode, sizes, files, runs, section_seconds)


def _section(mode, sizes, files, runs, section_seconds):
    epochs = sizes["epochs"]
    passes = f"{epochs} pass{'es' if epochs > 1 else ''} over the file"
    section = Section(NAME, TITLE, _INTRO.format(passes=passes))
    section.tables += [_files_table(files), _throughput_table(files, runs)]
    section.tables.append(_memory_table(files, runs))
    section.targets += _targets(mode, files, runs)
    section.summary = _summary(mode, files, runs)
    section.data.update(
        sizes=sizes,
        models=MODELS,
        separation=SEPARATION,
        n_classes=N_CLASSES,
        files=files,
        section_seconds=section_seconds,
        runs={f"{model}|{label}": result for (model, label), result in runs.items()},
    )
    section.notes.append(
        f"The section took {section_seconds:.0f} s: writing "
        f"{format_bytes(sum(f['file_bytes'] for f in files.values()))} and "
        f"{len(runs)} training processes of "
        f"{sum(r['process_seconds'] for r in runs.values()):.0f} s in all (start-up "
        "included)."
    )
    section.figures.append(
        Figure(
            "out_of_core_memory.png",
            "Resident memory of the training process as it reads the full file (left) and "
            "the half-size file (right), each epoch reading it once more: the high-water "
            "mark (solid) and the RSS after each chunk (faint)",
            lambda fig: _draw_memory(fig, mode, files, runs),
            size=(10.0, 4.2),
        )
    )
    return section


def _summary(mode, files, runs):
    full, half = files["full"], files["half"]
    target = "target 25%" if mode == "full" else f"target 25%, not measured in --{mode}"
    peak = {label: max(runs[m, label]["peak"] for m in MODELS) for label in FILES}
    accuracy = ", ".join(f"{m} {runs[m, 'full']['accuracy']:.3f}" for m in MODELS)
    return (
        f"training with partial_fit from a {format_bytes(full['file_bytes'])} HDF5 file "
        f"peaks at {format_bytes(peak['full'])} resident memory "
        f"({peak['full'] / full['file_bytes']:.0%} of the file; {target}), and at "
        f"{format_bytes(peak['half'])} on the {format_bytes(half['file_bytes'])} file: the "
        f"chunk, not the file, sets the memory. Held-out accuracy: {accuracy}."
    )


def _files_table(files):
    return Table(
        "Generated HDF5 files",
        [
            Column("file", "file"),
            Column("n_rows", "rows", "int"),
            Column("n_features", "features", "int"),
            Column("x_bytes", "size of X", "bytes"),
            Column("file_bytes", "file size", "bytes"),
            Column("chunk_rows", "chunk rows", "int"),
            Column("chunk_bytes", "chunk size", "bytes"),
            Column("n_chunks", "chunks", "int"),
            Column("write_seconds", "write time", "seconds"),
            Column("write_rate", "written per second", "bytes"),
        ],
        list(files.values()),
        notes=[
            f"X is float64, y int64; row = centroid of its class (coordinates "
            f"N(0, {SEPARATION}²), {N_CLASSES} classes drawn uniformly) + N(0, 1) noise, "
            "generated and written one chunk of rows at a time (the writer never holds "
            "more). The held-out set is a separate file of "
            "the same problem, read by the training process only after its peak memory "
            "was taken. Each file is deleted once trained on, and the whole temporary "
            "directory (under $TMPDIR) at the end.",
        ],
    )


def _throughput_table(files, runs):
    rows = []
    for (model, label), result in runs.items():
        info = files[label]
        first_epoch = result["epoch_seconds"][0]
        rows.append(
            {
                "model": model,
                "file": label,
                "file_bytes": info["file_bytes"],
                "epochs": len(result["epoch_seconds"]),
                "rows_trained": result["rows_trained"],
                "train_seconds": result["train_seconds"],
                "rows_per_second": round(result["rows_trained"] / result["train_seconds"]),
                "first_epoch_rows_per_second": round(info["n_rows"] / first_epoch),
                "bytes_per_second": result["rows_trained"]
                * info["x_bytes"]
                / info["n_rows"]
                / result["train_seconds"],
                "read_share": result["read_seconds"] / result["train_seconds"],
                "process_seconds": result["process_seconds"],
                "accuracy": result["accuracy"],
            }
        )
    return Table(
        "Out-of-core training: throughput and held-out accuracy",
        [
            Column("model", "model"),
            Column("file", "file"),
            Column("file_bytes", "file size", "bytes"),
            Column("epochs", "epochs", "int"),
            Column("rows_trained", "rows trained", "int"),
            Column("train_seconds", "training time", "seconds"),
            Column("rows_per_second", "rows/s", "int"),
            Column("first_epoch_rows_per_second", "rows/s, epoch 1 (cold)", "int"),
            Column("bytes_per_second", "X read per second", "bytes"),
            Column("read_share", "time reading", "percent"),
            Column("process_seconds", "process wall time", "seconds"),
            Column("accuracy", "held-out accuracy", "accuracy"),
        ],
        rows,
        notes=[
            "`for X, y in iter_h5_batches(path, chunk_rows): est.partial_fit(X, y, "
            "classes=range(10))`, once per epoch, chunks in file order; each "
            "`partial_fit` runs one epoch of mini-batches of 200 over its chunk. "
            "SoftmaxGD(batch_size=200, learning_rate=0.05); ShallowNNClassifier(64, "
            "optimizer='adam', learning_rate=0.001, batch_size=200), relu.",
            "Training time: from the first read to the end of the last `partial_fit`; "
            "time reading: its share spent in the iterator (HDF5 read of the chunk). "
            "The file's pages are evicted from the OS cache (`posix_fadvise "
            "DONTNEED`) before each process starts, so epoch 1 reads from disk; later "
            "epochs may be served from the cache. Process wall time adds the start-up, "
            "imports and the held-out scoring.",
        ],
    )


def _memory_table(files, runs):
    rows = []
    for (model, label), result in runs.items():
        info = files[label]
        increase = result["peak"] - result["baseline_peak"]
        rows.append(
            {
                "model": model,
                "file": label,
                "file_bytes": info["file_bytes"],
                "chunk_bytes": info["chunk_bytes"],
                "baseline": result["baseline_peak"],
                "peak": result["peak"],
                "increase": increase,
                "peak_over_file": result["peak"] / info["file_bytes"],
                "increase_over_chunk": increase / info["chunk_bytes"],
            }
        )
    return Table(
        "Peak memory of the training process",
        [
            Column("model", "model"),
            Column("file", "file"),
            Column("file_bytes", "file size", "bytes"),
            Column("chunk_bytes", "chunk size", "bytes"),
            Column("baseline", "RSS before training", "bytes"),
            Column("peak", "peak RSS", "bytes"),
            Column("increase", "increase", "bytes"),
            Column("peak_over_file", "peak ÷ file size", "percent"),
            Column("increase_over_chunk", "increase ÷ chunk size", "ratio"),
        ],
        rows,
        notes=[
            "Peak RSS: the high-water mark of the training subprocess's resident memory "
            "at the end of training (`VmHWM` of /proc/self/status; the interpreter, "
            "NumPy, SciPy, scikit-learn, h5py and sknn included). RSS before training: "
            "the same, taken after the imports and the estimator's construction, before "
            "the first chunk is read; the increase is what training added. Not "
            "`ru_maxrss`: Linux carries the parent's peak into a child's `ru_maxrss` "
            "across fork and exec, so it would report the benchmark process's peak "
            "(it is in the JSON, `ru_maxrss`). The OS page cache holding the file is "
            "kernel memory and not part of any RSS.",
            "The loop holds the previous chunk while the iterator reads the next, and "
            "`partial_fit` makes the one-hot targets and per-batch buffers: the "
            "increase is a small multiple of the chunk size, whatever the file size.",
        ],
    )


def _targets(mode, files, runs):
    models = list(MODELS)
    full = files["full"]
    # A small file weighs less than the interpreter and its libraries: in a --quick or
    # --tiny run the peak cannot be a quarter of the file, whatever sknn does.
    too_small = (
        ""
        if mode == "full"
        else f"in --{mode} the file is smaller than the Python process that reads it"
    )

    def increase(model, label):
        result = runs[model, label]
        # Floored at 1 MiB: the ratio of two near-zero increases means nothing.
        return max(result["peak"] - result["baseline_peak"], 2**20)

    over_file = {m: runs[m, "full"]["peak"] / full["file_bytes"] for m in models}
    worst_file = max(over_file, key=over_file.get)
    growth = {m: increase(m, "full") / increase(m, "half") for m in models}
    worst_growth = max(growth, key=growth.get)
    return [
        Target(
            f"peak memory of out-of-core training ÷ HDF5 file size "
            f"({format_bytes(full['file_bytes'])})",
            over_file[worst_file],
            TARGET_PEAK_OVER_FILE,
            "<=",
            f"peak RSS of the training process (VmHWM, everything included) ÷ file "
            f"size; worst model: {worst_file}, "
            f"{format_bytes(runs[worst_file, 'full']['peak'])}",
            not_measured=too_small,
        ),
        Target(
            "out-of-core peak RSS increase, full file ÷ half-size file",
            growth[worst_growth],
            TARGET_GROWTH,
            "<=",
            f"(peak − RSS before training) on the full file ÷ the same on a file half "
            f"its size, same {full['chunk_rows']:,}-row chunks; worst model: "
            f"{worst_growth} ({format_bytes(increase(worst_growth, 'full'))} vs "
            f"{format_bytes(increase(worst_growth, 'half'))})",
        ),
    ]


_INTRO = (
    "Training on data that does not fit in memory: `sknn.datasets.iter_h5_batches` reads "
    "an HDF5 file one slice of rows at a time and `partial_fit` trains on each "
    "({passes}). Each run is a subprocess of its own, so its peak "
    "resident memory is the training's alone. Bounded memory means a peak set by the "
    "chunk size, not by the file: the half-size file shows it. In --quick and --tiny "
    "runs the file is small (about 50 MB, a few MB), smaller than the interpreter and "
    "its libraries, so the peak ÷ file size target cannot be met there."
)


def _draw_memory(figure, mode, files, runs):
    # The two files side by side, on shared axes: on one axes the half file's lines
    # would cover the full file's, since bounded memory makes them the same height.
    axes = figure.subplots(1, len(FILES), sharex=True, sharey=True, squeeze=False)[0]
    styles = {
        model: dict(color=f"C{i}", linestyle=("-", "--")[i]) for i, model in enumerate(MODELS)
    }
    top = 0.0
    for ax, label in zip(axes, FILES):
        info = files[label]
        for model in MODELS:
            result = runs[model, label]
            trace = np.array(
                [[rows, peak if now is None else now, peak] for rows, now, peak in result["trace"]],
                dtype=float,
            )
            gib = np.concatenate([[0.0], trace[:, 0] * info["x_bytes"] / info["n_rows"] / 2**30])
            start = [result["baseline_peak"] / 2**20]
            peaks = np.concatenate([start, trace[:, 2] / 2**20])
            top = max(top, peaks.max())
            ax.plot(gib, peaks, label=f"{model}: peak so far", **styles[model])
            ax.plot(
                gib,
                np.concatenate([start, trace[:, 1] / 2**20]),
                alpha=0.5,
                lw=0.9,
                label=f"{model}: RSS after each chunk",
                **styles[model],
            )
        ax.set(
            title=f"{label} file, {format_bytes(info['file_bytes'])}", xlabel="X read so far (GiB)"
        )
    bound = TARGET_PEAK_OVER_FILE * files["full"]["file_bytes"] / 2**20
    note = "" if mode == "full" else f" (not measured in --{mode})"
    axes[0].axhline(
        bound, color="tab:red", linestyle=":", label=f"target: 25% of the full file{note}"
    )
    # Headroom above the highest line for it and the legend.
    axes[0].set_ylim(0, 1.3 * max(top, bound))
    axes[0].set_ylabel("resident memory (MiB)")
    axes[0].legend(fontsize=7, loc="lower right")
