import math
import os
import re
from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sknn.datasets import iter_h5_batches, load_h5

# The course files live outside the repository and are never copied into it.
DATA_DIR = Path(
    os.environ.get("SKNN_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "datasets")
)
CLASSES = np.array([b"non-cat", b"cat"])


def write_h5(path, **datasets):
    with h5py.File(path, "w") as f:
        for name, value in datasets.items():
            f[name] = value
    return path


def course_file(path, prefix="train_set", n=6):
    rng = np.random.default_rng(0)
    return write_h5(
        path,
        **{
            f"{prefix}_x": rng.integers(0, 256, size=(n, 4, 4, 3), dtype=np.uint8),
            f"{prefix}_y": np.arange(n) % 2,
            "list_classes": CLASSES,
        },
    )


def id_file(path, n, feature_shape=(2, 3)):
    """X whose first flattened column is the row index, y = 10 * row index."""
    X = np.random.default_rng(n).random((n, math.prod(feature_shape)))
    X[:, 0] = np.arange(n)
    return write_h5(path, X=X.reshape(n, *feature_shape), y=10 * np.arange(n))


def in_path(path):
    return re.escape(str(path))


# --- load_h5 -----------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["train_set", "test_set"])
def test_course_layout(tmp_path, prefix):
    path = course_file(tmp_path / "course.h5", prefix)
    bunch = load_h5(path)
    with h5py.File(path) as f:
        expected = f[f"{prefix}_x"][()].reshape(6, -1)
    np.testing.assert_array_equal(bunch.data, expected)
    assert bunch.data.dtype == np.uint8
    np.testing.assert_array_equal(bunch.target, np.arange(6) % 2)
    assert bunch.target_names.tolist() == ["non-cat", "cat"]
    assert bunch.feature_shape == (4, 4, 3)
    assert str(path) in bunch.DESCR
    assert f"{prefix}_x" in bunch.DESCR and f"{prefix}_y" in bunch.DESCR


@pytest.mark.parametrize("name, n", [("train_catvnoncat.h5", 209), ("test_catvnoncat.h5", 50)])
def test_real_course_files(name, n):
    path = DATA_DIR / name
    if not path.exists():
        pytest.skip(f"{path} not available (set SKNN_DATA_DIR)")
    bunch = load_h5(path)
    assert bunch.data.shape == (n, 64 * 64 * 3)
    assert bunch.data.dtype == np.uint8
    assert bunch.target.shape == (n,)
    assert set(np.unique(bunch.target)) <= {0, 1}
    assert bunch.target_names.tolist() == ["non-cat", "cat"]
    assert bunch.feature_shape == (64, 64, 3)


@pytest.mark.parametrize("x_key, y_key", [("X", "y"), ("data", "target"), ("features", "labels")])
def test_generic_layout(tmp_path, x_key, y_key):
    X = np.arange(24.0).reshape(4, 3, 2)
    y = np.array([3, 1, 4, 1])
    path = write_h5(tmp_path / "g.h5", **{x_key: X, y_key: y})
    bunch = load_h5(path)
    np.testing.assert_array_equal(bunch.data, X.reshape(4, 6))
    np.testing.assert_array_equal(bunch.target, y)
    assert bunch.target_names is None
    assert bunch.feature_shape == (3, 2)


def test_generic_layout_ignores_unrelated_datasets(tmp_path):
    path = write_h5(
        tmp_path / "g.h5",
        X=np.ones((5, 2)),
        y=np.zeros(5),
        mean_image=np.ones((3, 3)),
        weights=np.ones(4),
        list_classes=np.array([b"a", b"b", b"c", b"d", b"e"]),  # same length as y
    )
    X, y = load_h5(path, return_X_y=True)
    assert X.shape == (5, 2) and y.shape == (5,)


def test_explicit_keys_and_group_paths(tmp_path):
    path = tmp_path / "g.h5"
    with h5py.File(path, "w") as f:
        f["a/X"], f["a/y"] = np.ones((3, 2)), np.arange(3)
        f["b/X"], f["b/y"] = np.zeros((4, 2)), np.arange(4)
    X, y = load_h5(path, x_key="b/X", y_key="b/y", return_X_y=True)
    np.testing.assert_array_equal(X, np.zeros((4, 2)))
    np.testing.assert_array_equal(y, np.arange(4))


def test_explicit_1d_x_becomes_one_column(tmp_path):
    path = write_h5(tmp_path / "g.h5", x=np.arange(4.0), y=np.arange(4))
    bunch = load_h5(path, x_key="x", y_key="y")
    assert bunch.data.shape == (4, 1)
    assert bunch.feature_shape == ()


@pytest.mark.parametrize(
    "given, expected",
    [
        ({"x_key": "X_a"}, ("X_a", "y_a")),
        ({"y_key": "y_b"}, ("X_b", "y_b")),
    ],
)
def test_one_key_infers_the_other(tmp_path, given, expected):
    path = write_h5(
        tmp_path / "g.h5",
        X_a=np.ones((5, 2)),
        y_a=np.arange(5),
        X_b=np.ones((4, 2)),
        y_b=np.arange(4),
    )
    x_key, y_key = expected
    assert load_h5(path, **given).DESCR == load_h5(path, x_key=x_key, y_key=y_key).DESCR


def test_one_key_picks_course_pair_in_file_with_train_and_test(tmp_path):
    n = 4  # same length for both sets, so shapes alone cannot tell them apart
    path = write_h5(
        tmp_path / "c.h5",
        train_set_x=np.ones((n, 2)),
        train_set_y=np.zeros(n),
        test_set_x=np.ones((n, 2)),
        test_set_y=np.ones(n),
    )
    with pytest.raises(ValueError, match="ambiguous"):
        load_h5(path)
    X, y = load_h5(path, x_key="test_set_x", return_X_y=True)
    np.testing.assert_array_equal(y, np.ones(n))


def test_return_X_y(tmp_path):
    path = course_file(tmp_path / "c.h5")
    X, y = load_h5(path, return_X_y=True)
    bunch = load_h5(path)
    np.testing.assert_array_equal(X, bunch.data)
    np.testing.assert_array_equal(y, bunch.target)


# --- bad input (both readers must reject it at call time) --------------------

READERS = {
    "load_h5": lambda path, **kw: load_h5(path, **kw),
    "iter_h5_batches": lambda path, **kw: iter_h5_batches(path, 2, **kw),
}


@pytest.fixture(params=READERS.values(), ids=READERS.keys())
def read(request):
    return request.param


def test_missing_file(tmp_path, read):
    path = tmp_path / "nope.h5"
    with pytest.raises(FileNotFoundError, match=in_path(path)):
        read(path)


def test_not_hdf5(tmp_path, read):
    path = tmp_path / "text.h5"
    path.write_text("not hdf5")
    with pytest.raises(ValueError, match=f"{in_path(path)}' is not a readable HDF5 file"):
        read(path)


def test_truncated_hdf5(tmp_path, read):
    full = write_h5(tmp_path / "full.h5", X=np.ones((1000, 10)), y=np.zeros(1000))
    path = tmp_path / "truncated.h5"
    data = full.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=f"{in_path(path)}' is not a readable HDF5 file"):
        read(path)


@pytest.mark.parametrize(
    "datasets",
    [
        {},
        {"a": np.ones(3), "b": np.ones(3)},  # no ndim >= 2 dataset
        {"X": np.ones((3, 2)), "list_classes": CLASSES},  # class names are not targets
        {"X": np.ones((3, 2)), "y": np.ones(4)},  # lengths differ: not a pair
    ],
    ids=["empty", "only-1d", "only-class-names", "no-matching-length"],
)
def test_no_recognisable_pair(tmp_path, read, datasets):
    path = write_h5(tmp_path / "f.h5", **datasets)
    with pytest.raises(ValueError, match=rf"{in_path(path)}': no \(X, y\) pair"):
        read(path)


def test_ambiguous_pair(tmp_path, read):
    path = write_h5(tmp_path / "f.h5", X=np.ones((3, 2)), y=np.ones(3), z=np.ones(3))
    with pytest.raises(ValueError, match=rf"{in_path(path)}': ambiguous .*'y'.*'z'"):
        read(path)


@pytest.mark.parametrize(
    "datasets, keys",
    [
        ({"train_set_x": np.ones((3, 2)), "train_set_y": np.ones(4)}, {}),
        ({"X": np.ones((3, 2)), "y": np.ones(4)}, {"x_key": "X", "y_key": "y"}),
    ],
    ids=["course-names", "explicit-keys"],
)
def test_different_lengths(tmp_path, read, datasets, keys):
    path = write_h5(tmp_path / "f.h5", **datasets)
    message = f"3 rows.*4 rows.*{in_path(path)}' have different lengths"
    with pytest.raises(ValueError, match=message):
        read(path, **keys)


def test_non_numeric_x(tmp_path, read):
    path = write_h5(tmp_path / "f.h5", X=np.array([[b"a", b"b"]] * 3), y=np.ones(3))
    with pytest.raises(ValueError, match=f"'X' in '{in_path(path)}' is not numeric"):
        read(path)


def test_y_not_1d(tmp_path, read):
    path = write_h5(tmp_path / "f.h5", X=np.ones((3, 2)), y=np.ones((3, 1)))
    with pytest.raises(ValueError, match=f"'y' in '{in_path(path)}' must be 1-D"):
        read(path, x_key="X", y_key="y")


@pytest.mark.parametrize("keys", [{"x_key": "nope"}, {"y_key": "nope"}, {"x_key": "grp"}])
def test_bad_key(tmp_path, read, keys):
    path = tmp_path / "f.h5"
    with h5py.File(path, "w") as f:
        f["X"], f["y"] = np.ones((3, 2)), np.ones(3)
        f.create_group("grp")
    message = rf"No dataset '(nope|grp)' in '{in_path(path)}'; it holds 'X' \(3, 2\)"
    with pytest.raises(ValueError, match=message):
        read(path, **keys)


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, "3"])
def test_bad_batch_size(tmp_path, batch_size):
    path = id_file(tmp_path / "f.h5", 5)
    message = f"batch_size must be a positive integer.*{in_path(path)}"
    with pytest.raises(ValueError, match=message):
        iter_h5_batches(path, batch_size)


# --- iter_h5_batches ---------------------------------------------------------


def collect(path, batch_size, **kwargs):
    batches = list(iter_h5_batches(path, batch_size, **kwargs))
    X = np.concatenate([X for X, _ in batches])
    y = np.concatenate([y for _, y in batches])
    return batches, X, y


@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("batch_size", [1, 3, 5, 10, 11])
def test_batches_see_every_row_once(tmp_path, batch_size, shuffle):
    n = 10
    path = id_file(tmp_path / "f.h5", n)
    batches, X, y = collect(path, batch_size, shuffle=shuffle, random_state=0)
    assert len(batches) == math.ceil(n / batch_size)
    assert all(len(Xb) == len(yb) <= batch_size and Xb.shape[1] == 6 for Xb, yb in batches)
    assert sorted(X[:, 0]) == list(range(n))
    np.testing.assert_array_equal(y, 10 * X[:, 0])  # rows stay paired with targets
    if not shuffle:
        np.testing.assert_array_equal(X, load_h5(path).data)


def test_shuffle_permutes_contiguous_chunks(tmp_path):
    path = id_file(tmp_path / "f.h5", 20)
    batches, _, _ = collect(path, 5, shuffle=True, random_state=0)
    chunks = sorted(sorted(Xb[:, 0].astype(int)) for Xb, _ in batches)
    assert chunks == [list(range(s, s + 5)) for s in range(0, 20, 5)]


def test_shuffle_reproducible(tmp_path):
    path = id_file(tmp_path / "f.h5", 100)
    _, X1, _ = collect(path, 10, shuffle=True, random_state=42)
    _, X2, _ = collect(path, 10, shuffle=True, random_state=42)
    _, X3, _ = collect(path, 10, shuffle=True, random_state=43)
    np.testing.assert_array_equal(X1, X2)
    assert not np.array_equal(X1, X3)


def test_shared_random_state_gives_new_order_per_pass(tmp_path):
    path = id_file(tmp_path / "f.h5", 100)
    rng = np.random.RandomState(0)
    _, X1, _ = collect(path, 10, shuffle=True, random_state=rng)
    _, X2, _ = collect(path, 10, shuffle=True, random_state=rng)
    assert not np.array_equal(X1, X2)


def test_batches_keep_dtype(tmp_path):
    path = course_file(tmp_path / "c.h5")
    for X, y in iter_h5_batches(path, 4):
        assert X.dtype == np.uint8 and X.shape[1] == 4 * 4 * 3


@pytest.mark.parametrize("shuffle", [False, True])
def test_no_read_larger_than_batch(tmp_path, monkeypatch, shuffle):
    n, batch_size = 50, 7
    path = id_file(tmp_path / "f.h5", n)
    rows_read = []
    original = h5py.Dataset.__getitem__

    def spy(self, args, *rest, **kwargs):
        out = original(self, args, *rest, **kwargs)
        rows_read.append(len(out) if np.ndim(out) else 1)
        return out

    monkeypatch.setattr(h5py.Dataset, "__getitem__", spy)
    batches = list(iter_h5_batches(path, batch_size, shuffle=shuffle, random_state=0))
    assert len(batches) == math.ceil(n / batch_size)
    assert rows_read and max(rows_read) <= batch_size
    assert sum(rows_read) == 2 * n  # X and y, each row read once


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(0, 40),
    feature_shape=st.lists(st.integers(1, 3), min_size=1, max_size=3).map(tuple),
    batch_size=st.integers(1, 45),
    shuffle=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_batches_concatenate_to_load_h5(
    tmp_path_factory, n, feature_shape, batch_size, shuffle, seed
):
    path = id_file(tmp_path_factory.mktemp("prop") / "f.h5", n, feature_shape)
    expected = load_h5(path)
    batches = list(iter_h5_batches(path, batch_size, shuffle=shuffle, random_state=seed))
    assert len(batches) == math.ceil(n / batch_size)
    X = np.concatenate([X for X, _ in batches]) if batches else expected.data[:0]
    y = np.concatenate([y for _, y in batches]) if batches else expected.target[:0]
    order = np.argsort(X[:, 0], kind="stable")
    np.testing.assert_array_equal(X[order], expected.data)
    np.testing.assert_array_equal(y[order], expected.target)
