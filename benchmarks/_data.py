"""The benchmark data: bundled scikit-learn sets, generated problems, the cat images.

Also the writer of the generated HDF5 files the out-of-core and distributed
sections train from (:func:`write_h5_problem`).

Nothing here downloads anything. The course's cat data is read from
``$SKNN_DATA_DIR`` when it holds the files; otherwise a generated stand-in of
the same shape takes its place, and its name, which every table, plot and the
JSON print, says so: "cat-shaped generated stand-in (209 x 12288)".
"""

import functools
import os
from dataclasses import dataclass

import h5py
import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits, make_classification
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from sknn.datasets import load_h5

from ._config import DATA_DIR_VARIABLE

CAT_FILES = ("train_catvnoncat.h5", "test_catvnoncat.h5")
#: (n_train, n_test, n_features) of the course's cat data, and of the --tiny stand-in.
CAT_SHAPE = (209, 50, 64 * 64 * 3)
TINY_CAT_SHAPE = (40, 10, 300)
#: The name the stand-in goes by wherever the cat images would be named.
STAND_IN_NAME = "cat-shaped generated stand-in"


@dataclass(frozen=True)
class Dataset:
    """A train/test split and where it came from.

    Attributes
    ----------
    name : str
        Short name; :attr:`label` is what reports print.
    X_train, y_train, X_test, y_test : ndarray
        ``X_test`` and ``y_test`` are empty when the problem has no test split.
    source : str
        One line for the report: file path, generator call or bundled set.
    """

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    source: str

    @property
    def shape(self):
        """Shape of ``X_train``."""
        return self.X_train.shape

    @property
    def label(self):
        """Name and training shape, e.g. ``"digits (1347 x 64)"``: how reports name it."""
        n_samples, n_features = self.shape
        return f"{self.name} ({n_samples} x {n_features})"


def has_course_files(config):
    """Whether :func:`cat` reads the course's files (never in --tiny runs)."""
    return (
        config.mode != "tiny"
        and config.data_dir is not None
        and all((config.data_dir / name).is_file() for name in CAT_FILES)
    )


def cat_source(config):
    """Say where :func:`cat` takes its data from, without loading it."""
    if has_course_files(config):
        return f"course files in {config.data_dir}"
    if config.mode == "tiny":
        n_train, _, n_features = TINY_CAT_SHAPE
        return f"{STAND_IN_NAME} ({n_train} x {n_features}), smaller in --tiny"
    where = (
        f"{DATA_DIR_VARIABLE} is not set"
        if config.data_dir is None
        else f"{', '.join(CAT_FILES)} not found in {config.data_dir}"
    )
    return (
        f"{where}: the cat images are replaced by a {STAND_IN_NAME} "
        f"({CAT_SHAPE[0]} x {CAT_SHAPE[2]}, {CAT_SHAPE[1]} test rows, from "
        "make_classification: its accuracies say nothing about the cat images). Set "
        f"{DATA_DIR_VARIABLE} to the directory holding {' and '.join(CAT_FILES)}."
    )


def cat_label(config):
    """What the run's cat data is, in a few words, for the report's verdict."""
    if has_course_files(config):
        return f"the course's cat images ({CAT_SHAPE[0]} x {CAT_SHAPE[2]})"
    n_train, _, n_features = TINY_CAT_SHAPE if config.mode == "tiny" else CAT_SHAPE
    return f"{STAND_IN_NAME} ({n_train} x {n_features}) in place of the cat images"


def cat(config):
    """The cat vs non-cat images, flattened and divided by 255, or a stand-in.

    Parameters
    ----------
    config : Config

    Returns
    -------
    dataset : Dataset
    """
    source = cat_source(config)
    if has_course_files(config):
        return _cat_files(str(config.data_dir), source)
    n_train, n_test, n_features = TINY_CAT_SHAPE if config.mode == "tiny" else CAT_SHAPE
    return _cat_stand_in(n_train, n_test, n_features, source)


@functools.lru_cache(maxsize=None)
def _cat_files(data_dir, source):
    parts = []
    for name in CAT_FILES:
        bunch = load_h5(f"{data_dir}/{name}")
        parts += [bunch.data / 255.0, bunch.target]
    return Dataset("cat", *parts, source=source)


@functools.lru_cache(maxsize=None)
def _cat_stand_in(n_train, n_test, n_features, source):
    X, y = make_classification(
        n_train + n_test, n_features, n_informative=20, flip_y=0.1, random_state=0
    )
    # Pixel-like values in [0, 1], as after the course's division by 255.
    X -= X.min()
    X /= X.max()
    return Dataset(STAND_IN_NAME, X[:n_train], y[:n_train], X[n_train:], y[n_train:], source=source)


@functools.lru_cache(maxsize=None)
def _standardized(name):
    loader = {"breast_cancer": load_breast_cancer, "digits": load_digits}[name]
    X, y = loader(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    scaler = StandardScaler().fit(X_train)
    return Dataset(
        name,
        scaler.transform(X_train),
        y_train,
        scaler.transform(X_test),
        y_test,
        source=f"sklearn.datasets.load_{name}, 75/25 stratified split, standardized",
    )


def load(name, config):
    """Load one of the named real data sets.

    Parameters
    ----------
    name : {'breast_cancer', 'digits', 'cat'}
    config : Config

    Returns
    -------
    dataset : Dataset
    """
    if name == "cat":
        return cat(config)
    return _standardized(name)


@functools.lru_cache(maxsize=16)
def generated(n_samples, n_features, n_classes, dtype=np.float64, n_test=0):
    """A ``make_classification`` problem, cached: sections share their big arrays.

    Parameters
    ----------
    n_samples, n_features, n_classes : int
        ``n_samples`` training rows; ``n_test`` more rows form the test split.
    dtype : {np.float64, np.float32}
    n_test : int

    Returns
    -------
    dataset : Dataset
        Arrays are shared between callers: never modify them.
    """
    if dtype != np.float64:
        base = generated(n_samples, n_features, n_classes, np.float64, n_test)
        X_train, X_test = base.X_train.astype(dtype), base.X_test.astype(dtype)
        return Dataset(base.name, X_train, base.y_train, X_test, base.y_test, base.source)
    n_informative = min(n_features, max(10, 2 * n_classes))
    X, y = make_classification(
        n_samples + n_test,
        n_features,
        n_informative=n_informative,
        n_redundant=0,
        n_classes=n_classes,
        random_state=0,
    )
    X_train, X_test = np.ascontiguousarray(X[:n_samples]), np.ascontiguousarray(X[n_samples:])
    name = f"make_classification, {n_classes} classes"
    source = (
        f"make_classification(n_samples={n_samples + n_test}, n_features={n_features}, "
        f"n_informative={n_informative}, n_classes={n_classes}, random_state=0)"
    )
    return Dataset(name, X_train, y[:n_samples], X_test, y[n_samples:], source=source)


def write_h5_problem(path, n_rows, centroids, *, block_rows, seed, progress=None):
    """Write ``X`` (float64) and ``y`` (int64) to a new HDF5 file, block by block.

    Each row is its class centroid plus standard normal noise, the class
    drawn uniformly. Only one block of rows is in memory at a time.

    Parameters
    ----------
    path : path-like
    n_rows : int
    centroids : ndarray of shape (n_classes, n_features)
    block_rows : int
        Rows generated and written at a time.
    seed : int or numpy.random.Generator
        A generator is drawn from as it stands, so a caller that drew its
        centroids from it gets the rows that follow them in its stream.
    progress : callable or None
        Called with the number of rows written, about every tenth of the file.

    Returns
    -------
    n_bytes : int
        Size of the file.
    """
    rng = np.random.default_rng(seed)
    n_classes, n_features = centroids.shape
    report_every = max(1, n_rows // 10)
    next_report = report_every
    with h5py.File(path, "w") as f:
        X = f.create_dataset("X", (n_rows, n_features), dtype=np.float64)
        y = f.create_dataset("y", (n_rows,), dtype=np.int64)
        for start in range(0, n_rows, block_rows):
            stop = min(n_rows, start + block_rows)
            labels = rng.integers(0, n_classes, stop - start)
            block = rng.standard_normal((stop - start, n_features))
            block += centroids[labels]
            X[start:stop] = block
            y[start:stop] = labels
            if progress is not None and (stop >= next_report or stop == n_rows):
                progress(stop)
                next_report = stop + report_every
    return os.path.getsize(path)
