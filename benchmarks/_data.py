"""The benchmark data: scikit-learn's bundled sets, generated problems, the cat images.

Nothing here downloads anything. The course's cat images are read from
``$SKNN_DATA_DIR`` when it holds the two files; otherwise a generated
stand-in of the same shape takes their place, and the name every table,
plot and JSON value gives it says so (:data:`STAND_IN`).
"""

import dataclasses
import functools
from dataclasses import dataclass

import h5py
import numpy as np
from sklearn import datasets
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from sknn.datasets import load_h5

from ._core import DATA_DIR

CAT_FILES = ("train_catvnoncat.h5", "test_catvnoncat.h5")
#: (train rows, test rows, features) of the course's files, and of the --tiny stand-in.
CAT_SHAPE = (209, 50, 64 * 64 * 3)
TINY_CAT_SHAPE = (40, 10, 300)
STAND_IN = "cat-shaped generated stand-in"
BUNDLED = ("breast_cancer", "digits", "wine", "iris")


@dataclass(frozen=True)
class Dataset:
    """A train/test split, its name and where it came from."""

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    source: str

    @property
    def label(self):
        """Name and training shape, e.g. ``"digits (1347 x 64)"``: how reports name it."""
        return f"{self.name} ({self.X_train.shape[0]} x {self.X_train.shape[1]})"


def has_cat_files(config):
    """Whether :func:`cat` reads the course's files (never in --tiny runs)."""
    return (
        config.mode != "tiny"
        and config.data_dir is not None
        and all((config.data_dir / name).is_file() for name in CAT_FILES)
    )


def cat_label(config):
    """How the run's cat data is named everywhere, with its shape."""
    if has_cat_files(config):
        return f"cat images ({CAT_SHAPE[0]} x {CAT_SHAPE[2]})"
    n_train, _, n_features = TINY_CAT_SHAPE if config.mode == "tiny" else CAT_SHAPE
    return f"{STAND_IN} ({n_train} x {n_features})"


def cat_source(config):
    """One line for the report: where the cat data comes from."""
    if has_cat_files(config):
        return f"the course's files in {config.data_dir}, flattened and divided by 255"
    if config.mode == "tiny":
        where = "--tiny runs on a small stand-in"
    elif config.data_dir is None:
        where = f"{DATA_DIR} is not set"
    else:
        where = f"{' and '.join(CAT_FILES)} are not in {config.data_dir}"
    return (
        f"{where}: a {cat_label(config)} from make_classification, values in [0, 1], "
        "takes the place of the course's images (its accuracies and costs say nothing "
        f"about them); set {DATA_DIR} to the directory holding "
        f"{' and '.join(CAT_FILES)} for the real ones"
    )


def cat(config):
    """The cat vs non-cat images, flattened and divided by 255, or the stand-in.

    Returns
    -------
    dataset : Dataset
    """
    if has_cat_files(config):
        return _cat_files(str(config.data_dir))
    return _cat_stand_in(*(TINY_CAT_SHAPE if config.mode == "tiny" else CAT_SHAPE))


@functools.lru_cache(maxsize=None)
def _cat_files(data_dir):
    parts = []
    for name in CAT_FILES:
        bunch = load_h5(f"{data_dir}/{name}")
        parts += [bunch.data / 255.0, bunch.target]
    return Dataset("cat images", *parts, source=f"{data_dir}, /255")


@functools.lru_cache(maxsize=None)
def _cat_stand_in(n_train, n_test, n_features):
    X, y = datasets.make_classification(
        n_train + n_test, n_features, n_informative=20, flip_y=0.1, random_state=0
    )
    X = (X - X.min()) / (X.max() - X.min())  # pixel-like, as after the course's / 255
    return Dataset(STAND_IN, X[:n_train], y[:n_train], X[n_train:], y[n_train:], "stand-in")


def _standardized(name, X, y, source, stratify):
    """A 75/25 split, standardized with a StandardScaler fitted on the training part."""
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y if stratify else None, random_state=0
    )
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    return Dataset(name, X_train, y_train, X_test, y_test, f"{source}, 75/25 split, standardized")


@functools.lru_cache(maxsize=None)
def bundled(name):
    """A bundled scikit-learn set (stratified split)."""
    X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    return _standardized(name, X, y, f"sklearn.datasets.load_{name}", stratify=True)


def load(name, config):
    """A bundled set by name, or the cat data for ``'cat'``."""
    return cat(config) if name == "cat" else bundled(name)


@functools.lru_cache(maxsize=None)
def multilabel():
    """The multilabel problem of issue #24: 1500 x 20, 5 labels."""
    call = (
        "make_multilabel_classification(n_samples=1500, n_features=20, n_classes=5, random_state=0)"
    )
    X, Y = datasets.make_multilabel_classification(
        n_samples=1500, n_features=20, n_classes=5, random_state=0
    )
    return _standardized("multilabel, 5 labels", X, Y, call, stratify=False)


@functools.lru_cache(maxsize=8)
def generated(n_samples, n_features, n_classes, dtype=np.float64):
    """A ``make_classification`` problem (no test split), cached: never modify its arrays."""
    if dtype != np.float64:
        base = generated(n_samples, n_features, n_classes)
        return dataclasses.replace(base, X_train=base.X_train.astype(dtype))
    n_informative = min(n_features, max(10, 2 * n_classes))
    X, y = datasets.make_classification(
        n_samples,
        n_features,
        n_informative=n_informative,
        n_redundant=0,
        n_classes=n_classes,
        random_state=0,
    )
    source = (
        f"make_classification({n_samples}, {n_features}, n_informative={n_informative}, "
        f"n_classes={n_classes}, random_state=0)"
    )
    return Dataset(f"make_classification, {n_classes} classes", X, y, X[:0], y[:0], source)


def write_h5(path, n_rows, centroids, *, block_rows, rng):
    """Write ``X`` (float64) and ``y`` (int64) to a new HDF5 file, one block of rows at a time.

    Each row is its class's centroid plus standard normal noise, the class
    drawn uniformly: only one block is ever in memory.

    Parameters
    ----------
    path : path-like
    n_rows : int
    centroids : ndarray of shape (n_classes, n_features)
    block_rows : int
    rng : numpy.random.Generator

    Returns
    -------
    n_bytes : int
        Bytes of X and y written.
    """
    n_classes, n_features = centroids.shape
    with h5py.File(path, "w") as f:
        X = f.create_dataset("X", (n_rows, n_features), dtype=np.float64)
        y = f.create_dataset("y", (n_rows,), dtype=np.int64)
        for start in range(0, n_rows, block_rows):
            stop = min(n_rows, start + block_rows)
            labels = rng.integers(0, n_classes, stop - start)
            X[start:stop] = rng.standard_normal((stop - start, n_features)) + centroids[labels]
            y[start:stop] = labels
    return n_rows * (n_features + 1) * 8
