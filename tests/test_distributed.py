"""Scaling out with Dask: grid searches and out-of-core training on a real cluster.

One ``distributed.LocalCluster`` (two single-threaded worker processes, no
dashboard) serves the whole module. Every test checks that work done on the
cluster gives what the same work gives in this process.

Models trained by dask-ml's ``Incremental`` are compared with
``rtol=1e-12`` rather than bit for bit: arrays that a process receives over
the network are deserialised at arbitrary byte offsets (not even 8-byte
aligned), NumPy does not hand unaligned arrays to BLAS, and its own matrix
product sums in another order, which can change the last bits of a gradient
such as ``X.T @ residual``. ``atol=1e-14`` covers coefficients near zero,
whose rounding error is set by the magnitude of the terms summed, not by
their own. ``sknn.distributed.partial_fit_blocks`` realigns the blocks it
receives, and its models are compared bit for bit.

Needs the ``sknn[dask]`` extra; skipped without it.
"""

import sys

import numpy as np
import pytest
import scipy.sparse as sp

_REASON = 'needs the sknn[dask] extra (pip install "sknn[dask]")'
distributed = pytest.importorskip("distributed", reason=_REASON)
dask = pytest.importorskip("dask", reason=_REASON)
da = pytest.importorskip("dask.array", reason=_REASON)

import h5py  # noqa: E402
import joblib  # noqa: E402
from numpy.testing import assert_allclose, assert_array_equal  # noqa: E402
from sklearn.base import BaseEstimator, clone  # noqa: E402
from sklearn.datasets import make_classification  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from sknn import LogisticRegressionGD, ShallowNNClassifier, SoftmaxGD  # noqa: E402
from sknn.datasets import iter_h5_batches  # noqa: E402
from sknn.distributed import (  # noqa: E402
    LazyH5Dataset,
    fit_dask,
    h5_to_dask,
    partial_fit_blocks,
)

RTOL, ATOL = 1e-12, 1e-14


@pytest.fixture(scope="module")
def client():
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            # No dashboard, but the scheduler still serves its small HTTP API
            # (health, metrics), on port 8787 unless told otherwise; a free port
            # keeps parallel runs from colliding ("Port 8787 is already in use").
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def _workers(client):
    return set(client.scheduler_info()["workers"])


def _key_name(key):
    return key[0] if isinstance(key, tuple) else str(key)


# --- grid search through joblib's dask backend ----------------------------------

SEARCHES = {
    "logistic": (
        LogisticRegressionGD(max_iter=200, tol=None),
        {"alpha": [1e-4, 1.0, 10.0], "optimizer": ["gd", "momentum"]},
    ),
    "softmax": (
        SoftmaxGD(max_iter=200, tol=None, batch_size=32, random_state=0),
        {"alpha": [1e-4, 1.0, 10.0], "optimizer": ["gd", "adam"]},
    ),
    "shallow_nn": (
        ShallowNNClassifier(max_iter=60, tol=None, random_state=0),
        {"hidden_layer_size": [2, 8], "alpha": [1e-4, 1.0]},
    ),
}


@pytest.mark.parametrize("name", SEARCHES)
def test_grid_search_on_cluster_matches_local(client, name):
    estimator, grid = SEARCHES[name]
    X, y = make_classification(
        n_samples=150, n_features=6, n_informative=4, n_classes=3, random_state=0
    )
    pipe = make_pipeline(StandardScaler(), estimator)
    step = pipe.steps[-1][0]
    grid = {f"{step}__{param}": values for param, values in grid.items()}

    local = GridSearchCV(pipe, grid, cv=3).fit(X, y)
    with distributed.get_task_stream(client) as tasks, joblib.parallel_backend("dask"):
        remote = GridSearchCV(pipe, grid, cv=3).fit(X, y)

    # The fits ran on the cluster's workers, not in this process.
    fit_tasks = [t for t in tasks.data if "_fit_and_score" in _key_name(t["key"])]
    assert fit_tasks
    assert {t["worker"] for t in fit_tasks} <= _workers(client)

    assert remote.best_params_ == local.best_params_
    assert_array_equal(remote.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"])
    assert_array_equal(remote.cv_results_["rank_test_score"], local.cv_results_["rank_test_score"])
    # The grid tells the candidates apart: the comparison is not between constants.
    assert np.ptp(local.cv_results_["mean_test_score"]) > 0


# --- out-of-core training over the blocks of an HDF5 file -----------------------

N_ROWS, N_FEATURES, BLOCK_ROWS, CLASSES = 230, 5, 50, [0, 1, 2]

ESTIMATORS = {
    "logistic": LogisticRegressionGD(random_state=0),
    "softmax": SoftmaxGD(batch_size=16, random_state=0),  # shuffles within blocks
    "shallow_nn": ShallowNNClassifier(hidden_layer_size=8, batch_size=32, random_state=0),
}


@pytest.fixture
def h5_path(tmp_path):
    X, y = make_classification(
        n_samples=N_ROWS,
        n_features=N_FEATURES,
        n_informative=3,
        n_redundant=0,
        n_classes=3,
        random_state=1,
    )
    path = tmp_path / "train.h5"
    with h5py.File(path, "w") as f:
        f["X"] = X
        f["y"] = y
    return path


def _stream_locally(estimator, path, n_epochs):
    estimator = clone(estimator)
    for _ in range(n_epochs):
        for X_block, y_block in iter_h5_batches(path, BLOCK_ROWS):
            estimator.partial_fit(X_block, y_block, classes=CLASSES)
    return estimator


def _assert_same_model(got, expected, X, *, exact=False):
    """Same parameters, probabilities and loss curve: bit for bit if ``exact``."""

    def check(actual, desired):
        actual, desired = np.asarray(actual), np.asarray(desired)
        assert actual.shape == desired.shape
        if exact:
            assert_array_equal(actual, desired)
        else:
            assert_allclose(actual, desired, rtol=RTOL, atol=ATOL)

    if hasattr(expected, "coef_"):
        params = [(got.coef_, expected.coef_), (got.intercept_, expected.intercept_)]
    else:
        params = list(zip(got.coefs_ + got.intercepts_, expected.coefs_ + expected.intercepts_))
    for actual, desired in params:
        check(actual, desired)
    check(got.predict_proba(X), expected.predict_proba(X))
    assert got.n_iter_ == expected.n_iter_
    check(got.loss_curve_, expected.loss_curve_)


def _incremental_fit(estimator, X, y, n_epochs):
    """Train with dask-ml's Incremental: partial_fit on the workers, block by block."""
    wrappers = pytest.importorskip("dask_ml.wrappers", reason=_REASON)
    model = wrappers.Incremental(clone(estimator), shuffle_blocks=False)
    model.fit(X, y, classes=CLASSES)
    for _ in range(n_epochs - 1):
        model.partial_fit(X, y, classes=CLASSES)
    return model.estimator_


@pytest.mark.parametrize("name", ESTIMATORS)
def test_incremental_from_h5_to_dask_matches_local_streaming(client, h5_path, name):
    X, y = h5_to_dask(h5_path, BLOCK_ROWS)
    assert X.chunks == ((50, 50, 50, 50, 30), (N_FEATURES,))

    with distributed.get_task_stream(client) as tasks:
        remote = _incremental_fit(ESTIMATORS[name], X, y, n_epochs=2)

    # Incremental's tasks ("fit-<token>", i) run partial_fit on block i.
    fits = [t for t in tasks.data if _key_name(t["key"]).startswith("fit-") and t["key"][1] >= 0]
    assert len(fits) == 2 * 5
    assert {t["worker"] for t in tasks.data} <= _workers(client)
    local = _stream_locally(ESTIMATORS[name], h5_path, n_epochs=2)
    assert remote.n_iter_ == 2 * 5
    _assert_same_model(remote, local, X.compute())


@pytest.mark.parametrize("name", ESTIMATORS)
def test_incremental_from_h5py_dataset_matches_local_streaming(client, h5_path, name):
    # da.from_array on an open h5py.Dataset: works on the distributed
    # scheduler only, by its h5py serializer, and only while the file is open.
    with h5py.File(h5_path, "r") as f:
        X = da.from_array(f["X"], chunks=(BLOCK_ROWS, N_FEATURES))
        y = da.from_array(f["y"], chunks=(BLOCK_ROWS,))
        remote = _incremental_fit(ESTIMATORS[name], X, y, n_epochs=1)
        X_all = X.compute()
    local = _stream_locally(ESTIMATORS[name], h5_path, n_epochs=1)
    _assert_same_model(remote, local, X_all)


@pytest.mark.parametrize("name", ESTIMATORS)
def test_partial_fit_blocks_on_cluster_is_local_streaming_bit_for_bit(client, h5_path, name):
    # Blocks read on the workers, partial_fit here; unaligned blocks are
    # realigned, so the model is identical, not merely close.
    X, y = h5_to_dask(h5_path, BLOCK_ROWS)
    with distributed.get_task_stream(client) as tasks:
        remote = partial_fit_blocks(clone(ESTIMATORS[name]), X, y, CLASSES, n_epochs=2)
    assert tasks.data and {t["worker"] for t in tasks.data} <= _workers(client)
    local = _stream_locally(ESTIMATORS[name], h5_path, n_epochs=2)
    assert remote.n_iter_ == 2 * 5
    _assert_same_model(remote, local, X.compute(), exact=True)


@pytest.mark.parametrize("scheduler", ["threads", "sync"])
def test_partial_fit_blocks_without_client(client, h5_path, scheduler):
    X, y = h5_to_dask(h5_path, BLOCK_ROWS)
    with dask.config.set(scheduler=scheduler), distributed.get_task_stream(client) as tasks:
        got = partial_fit_blocks(clone(ESTIMATORS["softmax"]), X, y, CLASSES)
    assert not tasks.data  # nothing ran on the cluster
    local = _stream_locally(ESTIMATORS["softmax"], h5_path, n_epochs=1)
    _assert_same_model(got, local, X.compute(), exact=True)


class _SubmissionProbe(BaseEstimator):
    """Records, at each partial_fit, how many blocks have been sent to compute."""

    def __init__(self, submitted):
        self.submitted = submitted

    def partial_fit(self, X, y, classes=None):
        self.seen_ = getattr(self, "seen_", []) + [len(self.submitted)]
        return self


def test_partial_fit_blocks_reads_one_block_ahead(client, tmp_path, monkeypatch):
    path = tmp_path / "many_blocks.h5"
    with h5py.File(path, "w") as f:
        f["X"], f["y"] = np.zeros((200, 3)), np.arange(200) % 2
    X, y = h5_to_dask(path, 20)
    submitted, compute = [], client.compute

    def counting_compute(collections, *args, **kwargs):
        submitted.append(collections)
        return compute(collections, *args, **kwargs)

    monkeypatch.setattr(client, "compute", counting_compute)
    probe = partial_fit_blocks(_SubmissionProbe(submitted), X, y, n_epochs=2)
    # While block i trains, the cluster reads block i + 1, never further
    # (unlike dask-ml's Incremental, whose scheduler reads ahead freely).
    n_blocks = 2 * 10
    assert probe.seen_ == [min(i + 2, n_blocks) for i in range(n_blocks)]


def test_dask_arrays_from_h5_to_dask_pickle(h5_path):
    import pickle

    X, y = h5_to_dask(h5_path, BLOCK_ROWS)
    X2, y2 = pickle.loads(pickle.dumps((X, y)))
    assert_array_equal(X2.compute(scheduler="sync"), X.compute(scheduler="sync"))
    # What from_array on an open h5py.Dataset cannot do:
    with h5py.File(h5_path, "r") as f:
        with pytest.raises(TypeError, match="h5py objects cannot be pickled"):
            pickle.dumps(da.from_array(f["X"], chunks=(BLOCK_ROWS, N_FEATURES)))


def test_partial_fit_blocks_bad_input(client):
    X = da.zeros((10, 2), chunks=(5, 2))
    y = da.zeros(10, chunks=5, dtype=int)
    estimator = SoftmaxGD()
    with pytest.raises(TypeError, match="has no partial_fit"):
        partial_fit_blocks(StandardScaler().fit, X, y)
    with pytest.raises(TypeError, match="X must be a dask.array.Array"):
        partial_fit_blocks(estimator, np.zeros((10, 2)), y)
    with pytest.raises(ValueError, match="same row chunks"):
        partial_fit_blocks(estimator, X, y.rechunk(4))
    for n_epochs in (0, 1.5):
        with pytest.raises(ValueError, match="n_epochs must be a positive integer"):
            partial_fit_blocks(estimator, X, y, [0, 1], n_epochs=n_epochs)


# --- h5_to_dask and LazyH5Dataset -----------------------------------------------


def test_h5_to_dask_blocks_are_iter_h5_batches_chunks(client, tmp_path):
    # Image-shaped uint8 samples, course layout: flattened, dtype kept.
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(11, 4, 4, 3), dtype=np.uint8)
    path = tmp_path / "images.h5"
    with h5py.File(path, "w") as f:
        f["train_set_x"] = images
        f["train_set_y"] = np.arange(11) % 2
    X, y = h5_to_dask(path, 4)
    assert X.shape == (11, 48) and X.dtype == np.uint8 and y.shape == (11,)
    blocks = client.compute(list(zip(X.blocks, y.blocks)), sync=True)
    expected = list(iter_h5_batches(path, 4))
    assert len(blocks) == len(expected) == 3
    for (X_block, y_block), (X_expected, y_expected) in zip(blocks, expected):
        assert_array_equal(X_block, X_expected)
        assert_array_equal(y_block, y_expected)
    assert_array_equal(X[[9, 2, 2], 5:7].compute(), images.reshape(11, -1)[[9, 2, 2], 5:7])


def test_h5_to_dask_names_are_deterministic_and_track_the_file(tmp_path):
    path = tmp_path / "d.h5"
    with h5py.File(path, "w") as f:
        f["X"], f["y"] = np.zeros((4, 2)), np.arange(4) % 2
    X1, y1 = h5_to_dask(path, 2)
    X2, _ = h5_to_dask(path, 2)
    assert X1.name == X2.name != y1.name
    with h5py.File(path, "w") as f:
        f["X"], f["y"] = np.ones((6, 2)), np.arange(6) % 2
    X3, _ = h5_to_dask(path, 2)
    assert X3.name != X1.name
    assert_array_equal(X3.compute(), np.ones((6, 2)))


def test_h5_to_dask_bad_input(tmp_path):
    path = tmp_path / "d.h5"
    with h5py.File(path, "w") as f:
        f["X"], f["y"] = np.zeros((4, 2)), np.arange(4) % 2
    for block_rows in (0, -1, 2.5, "4"):
        with pytest.raises(ValueError, match="block_rows must be a positive integer"):
            h5_to_dask(path, block_rows)
    with pytest.raises(ValueError, match="No dataset 'Z'"):
        h5_to_dask(path, 2, x_key="Z")
    with pytest.raises(FileNotFoundError):
        h5_to_dask(tmp_path / "missing.h5", 2)


def test_without_dask_the_error_names_the_extra(tmp_path, monkeypatch):
    path = tmp_path / "d.h5"
    with h5py.File(path, "w") as f:
        f["X"], f["y"] = np.zeros((4, 2)), np.arange(4) % 2
    X, y = h5_to_dask(path, 2)
    monkeypatch.setitem(sys.modules, "dask.array", None)
    with pytest.raises(ImportError, match=r"h5_to_dask needs Dask.*pip install \"sknn\[dask\]\""):
        h5_to_dask(path, 2)
    with pytest.raises(ImportError, match=r"partial_fit_blocks needs Dask.*sknn\[dask\]"):
        partial_fit_blocks(SoftmaxGD(), X, y, [0, 1])


@pytest.mark.parametrize("flatten", [False, True])
def test_lazy_h5_dataset_indexes_like_numpy(tmp_path, flatten):
    import pickle

    data = np.arange(7 * 2 * 3, dtype=np.float32).reshape(7, 2, 3)
    path = tmp_path / "d.h5"
    with h5py.File(path, "w") as f:
        f["group/X"] = data
    lazy = pickle.loads(pickle.dumps(LazyH5Dataset(path, "group/X", flatten=flatten)))
    expected = data.reshape(7, 6) if flatten else data
    assert lazy.shape == expected.shape and lazy.ndim == expected.ndim
    assert lazy.dtype == np.float32 and len(lazy) == 7
    assert lazy.path == str(path.resolve())
    # fmt: off
    indices = [
        slice(None), slice(2, 5), slice(None, None, -2), slice(5, 1, -1), 3, -1,
        [4, 1, 1], np.array([], dtype=int), np.arange(7) % 3 == 0,
        (slice(1, 3), 1), (2, 1), (Ellipsis, 1), (slice(None), [0, 1]),
        np.array([[0, 1], [6, 2]]), (0, Ellipsis, 1), (Ellipsis,),
    ]
    # fmt: on
    for index in indices:
        got, want = lazy[index], expected[index]
        assert got.shape == want.shape, repr(index)
        assert_array_equal(got, want, err_msg=repr(index))
    # What NumPy refuses, refused too.
    for index in (7, [0, 7], (Ellipsis, 1, Ellipsis), (0,) * 4, 1.5):
        with pytest.raises(IndexError):
            expected[index]
        with pytest.raises(IndexError):
            lazy[index]
    with pytest.raises(ValueError, match="No dataset 'nope'"):
        LazyH5Dataset(path, "nope")


def test_h5_to_dask_refuses_other_files_unless_allowed(tmp_path):
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["data"] = np.arange(8.0).reshape(4, 2)
    path = tmp_path / "d.h5"
    with h5py.File(path, "w") as f:
        f["X"], f["y"] = h5py.ExternalLink(other, "/data"), np.arange(4) % 2
    with pytest.raises(ValueError, match=r"Refusing to follow '/X' in .*d\.h5'.*allow_external"):
        h5_to_dask(path, 2)
    X, _ = h5_to_dask(path, 2, allow_external=True)
    assert_array_equal(X.compute(scheduler="processes"), np.arange(8.0).reshape(4, 2))
    # Blocks are checked again when read: the file may change after the call.
    good = tmp_path / "good.h5"
    with h5py.File(good, "w") as f:
        f["X"], f["y"] = np.zeros((4, 2)), np.arange(4) % 2
    X, _ = h5_to_dask(good, 2)
    with h5py.File(good, "w") as f:
        f["X"], f["y"] = h5py.ExternalLink(other, "/data"), np.arange(4) % 2
    with pytest.raises(ValueError, match="external link"):
        X.compute(scheduler="sync")


# --- full-batch training on the cluster: fit_dask -------------------------------
#
# These tests share one cluster whose workers' memory limit is below the data
# they hold, so that most blocks live spilled on the workers' disks and every
# evaluation reads them back. A model trained by fit_dask is compared with
# estimator.fit on the same data in memory; they differ only in the order of
# the sums (blocks, then workers), measured at about 1e-15 relative in float64
# and up to 2e-4 in float32 (a small coefficient, after ten steps), hence the
# tolerances below.

FIT_ROWS, FIT_FEATURES, FIT_BLOCK_ROWS = 2400, 12, 300
FIT_X_BYTES = FIT_ROWS * FIT_FEATURES * 8
# Each worker holds about half of X (115 KB), twice what this limit lets it
# keep in memory (Dask spills managed data above 60% of the limit).
WORKER_MEMORY = 96 * 1024
FIT_RTOL = {np.float64: 1e-10, np.float32: 1e-3}
FIT_ATOL = {np.float64: 1e-12, np.float32: 1e-5}

FIT_ESTIMATORS = {
    "logistic": LogisticRegressionGD,
    "softmax": SoftmaxGD,
    "shallow_nn": lambda **kw: ShallowNNClassifier(hidden_layer_size=6, random_state=0, **kw),
}


@pytest.fixture(scope="module")
def small_memory_cluster():
    # The limit is far below a worker process's own footprint (~100 MB), so
    # the rules that act on the process's memory (spill, pause, terminate)
    # are off: the limit is then the budget of the data Dask manages, and a
    # worker keeps 60% of it in memory, the rest on disk.
    memory_rules = {f"distributed.worker.memory.{rule}": False for rule in ("spill", "pause")}
    memory_rules["distributed.worker.memory.terminate"] = False
    with (
        dask.config.set(memory_rules),
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            memory_limit=WORKER_MEMORY,
            dashboard_address=None,
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
        ) as cluster,
    ):
        yield cluster


@pytest.fixture(scope="module")
def fit_client(small_memory_cluster):
    # Not the default client: the tests above rely on theirs being the active one.
    with distributed.Client(small_memory_cluster, set_as_default=False) as client:
        # sknn imported on the workers now, not in the first test's time.
        client.run(lambda: __import__("sknn.distributed") and None)
        yield client


def _fit_data(n_classes, dtype=np.float64, n_features=FIT_FEATURES, seed=0):
    X, y = make_classification(
        n_samples=FIT_ROWS,
        n_features=n_features,
        n_informative=6,
        n_classes=n_classes,
        random_state=seed,
    )
    return X.astype(dtype), y


def _as_dask(*arrays):
    return [da.from_array(a, chunks=(FIT_BLOCK_ROWS,) + (-1,) * (a.ndim - 1)) for a in arrays]


def _assert_same_fit(got, expected, X, dtype=np.float64):
    rtol, atol = FIT_RTOL[dtype], FIT_ATOL[dtype]
    assert got.n_iter_ == expected.n_iter_
    assert got.stop_reason_ == expected.stop_reason_
    assert_array_equal(got.classes_, expected.classes_)
    assert got.n_features_in_ == expected.n_features_in_
    got_state, expected_state = got._get_state(), expected._get_state()
    assert got_state["attributes"].keys() == expected_state["attributes"].keys()
    for name, value in expected_state["attributes"].items():
        actual = got_state["attributes"][name]
        if name in ("classes_", "stop_reason_"):
            continue  # compared above
        # Weights, loss curve, best loss, n_iter_ and n_features_in_.
        for a, e in zip(
            *(v if name in ("coefs_", "intercepts_") else [v] for v in (actual, value))
        ):
            if isinstance(e, np.ndarray):
                assert a.dtype == e.dtype, name
            assert_allclose(a, e, rtol=rtol, atol=atol, err_msg=name)
    for key, value in expected_state["optimizer"]["state"].items():
        actual = got_state["optimizer"]["state"][key]
        for name in value if isinstance(value, dict) else [None]:
            a, e = (actual, value) if name is None else (actual[name], value[name])
            assert_allclose(a, e, rtol=rtol, atol=atol, err_msg=f"{key} {name}")
    assert_allclose(got.predict_proba(X), expected.predict_proba(X), rtol=rtol, atol=atol)


@pytest.mark.parametrize("optimizer", ["gd", "momentum", "nesterov", "adam"])
@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("name", FIT_ESTIMATORS)
def test_fit_dask_equals_fit_in_memory(fit_client, name, n_classes, optimizer):
    X, y = _fit_data(n_classes)
    params = dict(optimizer=optimizer, max_iter=8, tol=None)
    expected = FIT_ESTIMATORS[name](**params).fit(X, y)
    with distributed.get_task_stream(fit_client) as tasks:
        got = fit_dask(FIT_ESTIMATORS[name](**params), *_as_dask(X, y), client=fit_client)
    _assert_same_fit(got, expected, X)
    # Every loss and gradient was computed on the workers, one task per worker.
    evaluations = [t for t in tasks.data if _key_name(t["key"]).startswith("sknn-")]
    assert len({_key_name(t["key"]).rsplit("-", 1)[0] for t in evaluations}) >= got.n_iter_
    assert {t["worker"] for t in evaluations} == _workers(fit_client)


@pytest.mark.parametrize(
    "name, params",
    [
        ("logistic", dict()),
        ("softmax", dict()),
        ("shallow_nn", dict(tol=1e-2, alpha=0.1)),
    ],
)
def test_fit_dask_converges_where_fit_does(fit_client, name, params):
    # The default optimizers, stopped by their tests (the network's loosened
    # to keep its fit short).
    X, y = _fit_data(3, seed=1)
    expected = FIT_ESTIMATORS[name](**params).fit(X, y)
    got = fit_dask(FIT_ESTIMATORS[name](**params), *_as_dask(X, y), client=fit_client)
    assert expected.stop_reason_ == "converged"
    if name == "shallow_nn":
        _assert_same_fit(got, expected, X)
    else:
        _assert_same_minimum(got, expected, X)


def _assert_same_minimum(got, expected, X):
    """L-BFGS in memory searches each line exactly, on blocks by the Wolfe conditions:
    other steps, the same minimum (to the gradient test's tolerance)."""
    assert got.stop_reason_ == expected.stop_reason_ == "converged"
    assert got._optimizer_state["name"] == expected._optimizer_state["name"] == "lbfgs"
    assert got.loss_curve_[-1] == pytest.approx(expected.loss_curve_[-1], rel=1e-4)
    assert_allclose(got.predict_proba(X), expected.predict_proba(X), atol=1e-3)


@pytest.mark.parametrize("name", FIT_ESTIMATORS)
def test_fit_dask_float32_and_sparse_blocks(fit_client, name):
    X, y = _fit_data(3, seed=2)
    params = dict(max_iter=10, tol=None, optimizer="nesterov")
    X32 = X.astype(np.float32)
    expected = FIT_ESTIMATORS[name](**params).fit(X32, y)
    got = fit_dask(FIT_ESTIMATORS[name](**params), *_as_dask(X32, y), client=fit_client)
    _assert_same_fit(got, expected, X32, dtype=np.float32)

    X[np.abs(X) < 1.0] = 0.0  # about two thirds zeros
    X_dask, y_dask = _as_dask(X, y)
    X_dask = X_dask.map_blocks(sp.csr_matrix, dtype=X.dtype)
    expected = FIT_ESTIMATORS[name](**params).fit(sp.csr_matrix(X), y)
    got = fit_dask(FIT_ESTIMATORS[name](**params), X_dask, y_dask, client=fit_client)
    _assert_same_fit(got, expected, X)


@pytest.mark.parametrize(
    "name, class_weight", [("logistic", "balanced"), ("softmax", {0: 3.0, 2: 0.5})]
)
def test_fit_dask_sample_and_class_weights(fit_client, name, class_weight):
    X, y = _fit_data(3, seed=3)
    rng = np.random.default_rng(0)
    sample_weight = rng.integers(0, 4, size=FIT_ROWS).astype(float)  # a quarter dropped
    sample_weight[:FIT_BLOCK_ROWS] = 0.0  # a whole block of weight 0
    params = dict(optimizer="gd", class_weight=class_weight, max_iter=10, tol=None)
    expected = FIT_ESTIMATORS[name](**params).fit(X, y, sample_weight=sample_weight)
    X_dask, y_dask, sw_dask = _as_dask(X, y, sample_weight)
    got = fit_dask(FIT_ESTIMATORS[name](**params), X_dask, y_dask, sw_dask, client=fit_client)
    _assert_same_fit(got, expected, X)
    # NumPy labels and weights are accepted too, chunked like X.
    got = fit_dask(FIT_ESTIMATORS[name](**params), X_dask, y, sample_weight, client=fit_client)
    _assert_same_fit(got, expected, X)


def test_fit_dask_auto_learning_rate_by_lanczos(fit_client, tmp_path):
    # Over 500 features, 'auto' for 'gd' bounds the curvature by Lanczos
    # iterations, each product summed over the blocks.
    X, y = _fit_data(2, n_features=520, seed=4)
    path = tmp_path / "wide.h5"
    with h5py.File(path, "w") as f:
        f["X"], f["y"] = X, y  # 10 MB: read by the workers, not sent in the graph
    params = dict(optimizer="gd", max_iter=3, tol=None)
    expected = LogisticRegressionGD(**params).fit(X, y)
    got = fit_dask(LogisticRegressionGD(**params), *h5_to_dask(path, 600), client=fit_client)
    _assert_same_fit(got, expected, X)


def test_fit_dask_warm_start_continues_like_fit(fit_client):
    X, y = _fit_data(3, seed=5)
    params = dict(warm_start=True, max_iter=6, tol=None)
    expected = FIT_ESTIMATORS["shallow_nn"](**params).fit(X, y).fit(X, y)
    got = FIT_ESTIMATORS["shallow_nn"](**params)
    for _ in range(2):
        got = fit_dask(got, *_as_dask(X, y), client=fit_client)
    assert got.n_iter_ == 12
    _assert_same_fit(got, expected, X)


def test_fit_dask_refuses_the_warm_starts_fit_refuses(fit_client):
    X, y = _fit_data(3, seed=5)
    X_dask, y_dask = _as_dask(X, y)
    # Weights set by hand without classes_ and n_features_in_.
    by_hand = LogisticRegressionGD(warm_start=True)
    by_hand.coef_, by_hand.intercept_ = np.zeros((3, X.shape[1])), np.zeros(3)
    with pytest.raises(ValueError, match="it has no classes_, n_features_in_"):
        fit_dask(by_hand, X_dask, y_dask, client=fit_client)
    # A multilabel fit continued on 1-D labels.
    multilabel = LogisticRegressionGD(warm_start=True, max_iter=3, tol=None)
    multilabel.fit(X, np.eye(3, dtype=int)[y])
    with pytest.raises(ValueError, match="fitted on a multilabel indicator matrix"):
        fit_dask(multilabel, X_dask, y_dask, client=fit_client)


def test_fit_dask_on_a_cluster_by_address(small_memory_cluster, fit_client):
    # A client connected to a running scheduler by its address, found as the
    # current client: the fit is the same, and leaves nothing on the cluster.
    X, y = _fit_data(2, seed=6)
    expected = SoftmaxGD(max_iter=8, tol=None, optimizer="nesterov").fit(X, y)
    address = small_memory_cluster.scheduler_address
    with distributed.Client(address, set_as_default=False) as other:
        with other.as_current(), distributed.get_task_stream(other) as tasks:
            got = fit_dask(SoftmaxGD(max_iter=8, tol=None, optimizer="nesterov"), *_as_dask(X, y))
        assert tasks.data and {t["worker"] for t in tasks.data} <= _workers(other)
        left = _fit_tasks_left(other)
    _assert_same_fit(got, expected, X)
    assert not left


def _fit_tasks_left(client, timeout=10.0):
    """The keys of sknn's fit tasks still on the scheduler, once it has had ``timeout`` s.

    Releasing a future only sends a message: the scheduler forgets the task
    when it has processed it, a moment later on a loaded machine.
    """
    import time

    deadline = time.monotonic() + timeout
    while True:
        keys = client.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.tasks))
        left = [key for key in map(str, keys) if "sknn-" in key or "_prepare_block" in key]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def test_fit_dask_survives_a_killed_worker(fit_client, tmp_path):
    import os
    import signal
    import threading
    import time

    X, y = _fit_data(3, seed=7)
    path = tmp_path / "fit.h5"
    with h5py.File(path, "w") as f:
        f["X"], f["y"] = X, y
    X_dask, y_dask = h5_to_dask(path, FIT_BLOCK_ROWS)
    params = dict(optimizer="momentum", max_iter=30, tol=None)
    expected = SoftmaxGD(**params).fit(X, y)
    undisturbed = fit_dask(SoftmaxGD(**params), X_dask, y_dask, client=fit_client)
    victim, pid = sorted(fit_client.run(os.getpid).items())[0]
    seen = {}

    def spilled():
        return fit_client.run(lambda dask_worker: len(dask_worker.data.slow))

    def evaluations(dask_scheduler):
        # Evaluation tasks are named sknn-<kind>-<fit>-<evaluation>-<group>.
        keys = [str(key).split("-") for key in dask_scheduler.tasks]
        return [(k[2], int(k[3])) for k in keys if k[0] == "sknn"]

    # The undisturbed fit's tasks and blocks may linger a while: the killer
    # must wait for this fit's own evaluations, and blocks on disk of its own.
    earlier_fits = {fit for fit, _ in fit_client.run_on_scheduler(evaluations)}
    _fit_tasks_left(fit_client)
    deadline = time.monotonic() + 10
    while any(spilled().values()) and time.monotonic() < deadline:
        time.sleep(0.05)

    def latest_evaluation():
        found = fit_client.run_on_scheduler(evaluations)
        return max((n for fit, n in found if fit not in earlier_fits), default=0)

    def kill_mid_fit():
        # Mid-fit, once every worker holds blocks on disk: a worker's memory
        # monitor spills on its own schedule, which a loaded machine delays.
        deadline = time.monotonic() + 60
        while latest_evaluation() < 8 or not all(n > 0 for n in spilled().values()):
            if time.monotonic() > deadline:
                return
            time.sleep(0.005)
        seen["spilled"] = spilled()
        os.kill(pid, signal.SIGKILL)
        seen["killed"] = True

    killer = threading.Thread(target=kill_mid_fit)
    try:
        with distributed.get_task_stream(fit_client) as tasks:
            killer.start()
            got = fit_dask(SoftmaxGD(**params), X_dask, y_dask, client=fit_client)
    finally:
        killer.join()
        fit_client.wait_for_workers(2, timeout=60)  # the nanny restarts it
    assert seen.get("killed"), "the fit ended before the worker could be killed"
    assert all(n > 0 for n in seen["spilled"].values())  # blocks lived on disk
    # The dead worker's blocks were read from the file again...
    reads = [t for t in tasks.data if _key_name(t["key"]).startswith("_prepare_block")]
    assert len(reads) > len(X_dask.chunks[0])
    # ...and the fit went on to the very result it gives undisturbed.
    assert_array_equal(got.coef_, undisturbed.coef_)
    assert got.loss_curve_ == undisturbed.loss_curve_
    _assert_same_fit(got, expected, X)


def test_fit_dask_refuses_what_it_cannot_train(fit_client, monkeypatch):
    X, y = _fit_data(2)
    X_dask, y_dask = _as_dask(X, y)
    with pytest.raises(TypeError, match="dask.array.Array.*partial_fit_blocks"):
        fit_dask(SoftmaxGD(), X, y, client=fit_client)
    with pytest.raises(ValueError, match="batch_size=32.*partial_fit_blocks"):
        fit_dask(SoftmaxGD(batch_size=32), X_dask, y_dask, client=fit_client)
    with pytest.raises(ValueError, match="early_stopping.*partial_fit_blocks"):
        fit_dask(SoftmaxGD(early_stopping=True), X_dask, y_dask, client=fit_client)
    with pytest.raises(TypeError, match="sknn classifiers"):
        fit_dask(StandardScaler(), X_dask, y_dask, client=fit_client)
    with pytest.raises(ValueError, match="one value per row"):
        fit_dask(SoftmaxGD(), X_dask, y_dask[:-1], client=fit_client)
    with pytest.raises(ValueError, match="unknown chunk sizes"):
        fit_dask(SoftmaxGD(), X_dask[X_dask[:, 0] > 0], y_dask, client=fit_client)
    monkeypatch.setattr("sknn.distributed.active_client", lambda: None)
    with pytest.raises(ValueError, match="needs a distributed.Client"):
        fit_dask(SoftmaxGD(), X_dask, y_dask)


def test_fit_dask_bad_blocks_leave_the_estimator_as_it_was(fit_client):
    X, y = _fit_data(2)
    estimator = SoftmaxGD(max_iter=3, tol=None).fit(X, y)
    before = estimator.coef_.copy()
    X_bad = X.copy()
    X_bad[-1, 0] = np.nan  # in the last block only
    with pytest.raises(ValueError, match="Input X contains NaN"):
        fit_dask(estimator, *_as_dask(X_bad, y), client=fit_client)
    with pytest.raises(ValueError, match="Unknown label type"):
        fit_dask(estimator, *_as_dask(X, y + 0.5), client=fit_client)
    with pytest.raises(ValueError, match="at least one non-zero number"):
        fit_dask(estimator, *_as_dask(X, y, np.zeros(FIT_ROWS)), client=fit_client)
    with pytest.raises(ValueError, match="Negative values in data passed to `sample_weight`"):
        fit_dask(estimator, *_as_dask(X, y, -np.ones(FIT_ROWS)), client=fit_client)
    assert_array_equal(estimator.coef_, before)
    assert estimator.n_iter_ == 3


@pytest.mark.parametrize("name", ["logistic", "softmax"])
def test_fit_dask_on_raw_scales_reaches_the_minimum_fit_reaches(fit_client, name):
    # Raw measurements: far from zero mean, variances spanning 8 decades.
    X, y = _fit_data(3, seed=8)
    X = X * np.logspace(-2, 2, FIT_FEATURES) + 3.0 * np.logspace(-2, 2, FIT_FEATURES)
    sample_weight = np.random.default_rng(1).uniform(0.5, 2.0, FIT_ROWS)
    params = dict(alpha=1e-2)
    expected = FIT_ESTIMATORS[name](**params).fit(X, y, sample_weight=sample_weight)
    got = fit_dask(
        FIT_ESTIMATORS[name](**params), *_as_dask(X, y, sample_weight), client=fit_client
    )
    _assert_same_minimum(got, expected, X)


def _bad_inputs():
    """Inputs fit refuses, each as (X, y, sample_weight), one bad value in the last block."""
    X, y = _fit_data(3)
    huge, nan, inf = X.copy(), X.copy(), X.copy()
    huge[-1, 0], nan[-1, 0], inf[-1, 2] = 1e200, np.nan, -np.inf
    negative, zero = np.ones(FIT_ROWS), np.zeros(FIT_ROWS)
    negative[-1] = -1.0
    return {
        "huge": (huge, y, None),
        "nan": (nan, y, None),
        "inf": (inf, y, None),
        "continuous_labels": (X, y + 0.5, None),
        "one_class": (X, np.zeros_like(y), None),
        "negative_weight": (X, y, negative),
        "zero_weights": (X, y, zero),
        "weight_nan": (X, y, np.where(np.arange(FIT_ROWS) == FIT_ROWS - 1, np.nan, 1.0)),
    }


@pytest.mark.parametrize("case", list(_bad_inputs()))
@pytest.mark.parametrize("name", FIT_ESTIMATORS)
def test_fit_dask_refuses_what_fit_refuses_with_the_same_message(fit_client, name, case):
    # One validation for both paths, run on each block before training: a value
    # of 1e200 once trained to all-zero weights on the Dask path without a word.
    X, y, sample_weight = _bad_inputs()[case]
    with pytest.raises(ValueError) as in_memory:
        FIT_ESTIMATORS[name]().fit(X, y, sample_weight=sample_weight)
    arrays = (X, y) if sample_weight is None else (X, y, sample_weight)
    with pytest.raises(ValueError) as on_blocks:
        fit_dask(FIT_ESTIMATORS[name](), *_as_dask(*arrays), client=fit_client)
    assert str(on_blocks.value) == str(in_memory.value)
