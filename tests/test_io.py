"""sknn.io: saving fitted estimators to HDF5 and loading them back (sknn/io.py)."""

import os
import pickle
import shutil
import tempfile

import h5py
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_array_equal
from sklearn.datasets import make_classification
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression

import sknn
from sknn import LogisticRegressionGD, ShallowNNClassifier, SoftmaxGD
from sknn import io as sknn_io
from sknn._optimizers import Adam, GradientDescent, Momentum
from sknn.io import load, save

ESTIMATORS = [LogisticRegressionGD, SoftmaxGD, ShallowNNClassifier]
OPTIMIZERS = ["gd", "momentum", "adam"]
LABELS = {
    "int": np.array([3, 5, 7, 11]),
    "str": np.array(["kat", "hund", "fågel", "ü"]),
    "object": np.array(["kat", "hund", "fågel", "ü"], dtype=object),
}

parametrize_estimators = pytest.mark.parametrize("Estimator", ESTIMATORS, ids=lambda E: E.__name__)


def make(Estimator, **params):
    """A small, quick estimator: a few epochs, tol=None (no ConvergenceWarning)."""
    params = {"max_iter": 5, "tol": None, "random_state": 0, **params}
    if Estimator is ShallowNNClassifier:
        params.setdefault("hidden_layer_size", 6)
    return Estimator(**params)


def data(n_classes=3, n_samples=60, n_features=5, dtype=np.float64, seed=0):
    X, y = make_classification(
        n_samples=n_samples,
        n_features=n_features,
        n_informative=3,
        n_redundant=0,
        n_classes=n_classes,
        n_clusters_per_class=1,
        random_state=seed,
    )
    return X.astype(dtype), y


def round_trip(estimator, path):
    save(estimator, path)
    return load(path)


def assert_same_state(expected, actual):
    """Every attribute equal, of the same type and dtype: nothing lost or changed."""
    assert type(actual) is type(expected)
    assert vars(actual).keys() == vars(expected).keys()
    for name, value in vars(expected).items():
        assert_same_value(value, getattr(actual, name), name)


def assert_same_array(expected, actual, where=""):
    """Equal, with the same dtype; str arrays may be narrower (as wide as their longest label)."""
    if expected.dtype.kind == "U":
        assert actual.dtype.kind == "U", where
    else:
        assert actual.dtype == expected.dtype, where
    assert_array_equal(actual, expected, err_msg=where)


def assert_same_value(expected, actual, where):
    if isinstance(expected, np.random.RandomState):
        for a, b in zip(expected.get_state(), actual.get_state()):
            assert_array_equal(a, b, err_msg=where)
    elif isinstance(expected, (GradientDescent, Momentum, Adam)):
        assert type(actual) is type(expected), where
        assert_same_value(vars(expected), vars(actual), where)
    elif isinstance(expected, dict):
        assert actual.keys() == expected.keys(), where
        for key, value in expected.items():
            assert_same_value(value, actual[key], f"{where}[{key!r}]")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), where
        for i, (a, b) in enumerate(zip(expected, actual)):
            assert_same_value(a, b, f"{where}[{i}]")
    elif isinstance(expected, np.ndarray):
        assert_same_array(expected, actual, where)
    else:
        assert type(actual) is type(expected), where
        assert actual == expected or (expected != expected and actual != actual), where


# --- round trips -------------------------------------------------------------


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("labels", list(LABELS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("n_classes", [2, 3], ids=["binary", "multiclass"])
@parametrize_estimators
def test_round_trip(tmp_path, Estimator, n_classes, dtype, labels, sparse):
    X, y = data(n_classes, dtype=dtype)
    y = LABELS[labels][y]
    X_fit = sp.csr_matrix(X) if sparse else X
    model = make(Estimator, batch_size=16).fit(X_fit, y)

    loaded = round_trip(model, tmp_path / "model.h5")

    assert_same_state(model, loaded)
    assert loaded.get_params() == model.get_params()
    for X_test in (X, X_fit):
        assert_array_equal(loaded.predict_proba(X_test), model.predict_proba(X_test), strict=True)
        assert_same_array(model.predict(X_test), loaded.predict(X_test))


@pytest.mark.parametrize(
    "y_dtype", [np.int8, np.uint16, np.int64, np.float32, np.float64, bool, str, object]
)
def test_label_dtypes_come_back_exactly(tmp_path, y_dtype):
    X, y = data(n_classes=2)
    y = np.array(["no", "yes"], dtype=y_dtype)[y] if y_dtype in (str, object) else y.astype(y_dtype)
    model = make(LogisticRegressionGD).fit(X, y)
    loaded = round_trip(model, tmp_path / "model.h5")
    assert loaded.classes_.dtype == model.classes_.dtype
    assert_same_array(model.predict(X), loaded.predict(X))


def test_dataframe_feature_names(tmp_path):
    X, y = data()
    frame = pd.DataFrame(X, columns=["größe", "b", "c", "d", "e"])
    model = make(SoftmaxGD, early_stopping=True).fit(frame, y)
    loaded = round_trip(model, tmp_path / "model.h5")
    assert_same_state(model, loaded)
    assert loaded.feature_names_in_.dtype == object
    assert_array_equal(loaded.predict_proba(frame), model.predict_proba(frame), strict=True)


@pytest.mark.parametrize(
    "labels, class_weight",
    [("int", {3: 2.0, 7: 0.5}), ("str", {"kat": 3.0, "hund": 0.25})],
    ids=["int_keys", "str_keys"],
)
@parametrize_estimators
def test_class_weight_dict(tmp_path, Estimator, labels, class_weight):
    X, y = data()
    model = make(Estimator, class_weight=class_weight).fit(X, LABELS[labels][y])
    loaded = round_trip(model, tmp_path / "model.h5")
    assert_same_value(model.get_params(), loaded.get_params(), "params")
    assert_array_equal(loaded.predict_proba(X), model.predict_proba(X), strict=True)


def test_file_holds_only_arrays_and_plain_values(tmp_path):
    X, y = data()
    path = tmp_path / "model.h5"
    save(make(ShallowNNClassifier, class_weight={"kat": 2.0}).fit(X, LABELS["str"][y]), path)

    def plain(dtype):
        return dtype.kind in "biufS" and h5py.check_vlen_dtype(dtype) is None

    with h5py.File(path) as f:
        assert f.attrs["format"] == b"sknn-model" and f.attrs["format_version"] == 1
        assert f.attrs["sknn_version"] == sknn.__version__.encode()
        assert set(f) == {"params", "fitted", "optimizer", "rng"}
        objects = [f]
        f.visit(lambda name: objects.append(f[name]))
        for obj in objects:
            assert all(plain(obj.attrs.get_id(name).dtype) for name in obj.attrs)
            if isinstance(obj, h5py.Dataset):
                assert plain(obj.dtype), obj.name


# --- training continues exactly ------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@parametrize_estimators
def test_partial_fit_after_load_continues_exactly(tmp_path, Estimator, optimizer, dtype):
    X, y = data(dtype=dtype)
    model = make(Estimator, optimizer=optimizer, batch_size=16)
    model.partial_fit(X, y, classes=np.unique(y)).partial_fit(X, y)

    loaded = round_trip(model, tmp_path / "model.h5")
    model.partial_fit(X, y)
    loaded.partial_fit(X, y)

    assert_same_state(model, loaded)


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@parametrize_estimators
def test_warm_start_after_load_continues_exactly(tmp_path, Estimator, optimizer):
    X, y = data(dtype=np.float32)
    # Shuffled mini-batches and a validation split: the random state matters.
    model = make(
        Estimator, optimizer=optimizer, warm_start=True, batch_size=16, early_stopping=True
    ).fit(X, y)

    loaded = round_trip(model, tmp_path / "model.h5")
    model.fit(X, y)
    loaded.fit(X, y)

    assert_same_state(model, loaded)


@pytest.mark.parametrize(
    "optimizer, unstepped",
    [
        ("momentum", {"velocities": None}),
        ("adam", {"t": 0, "first_moments": None, "second_moments": None}),
    ],
)
def test_optimizer_before_its_first_step(tmp_path, optimizer, unstepped):
    # As after a fit that diverged on its very first step: no state allocated.
    X, y = data()
    model = make(SoftmaxGD, optimizer=optimizer).fit(X, y)
    for name, value in unstepped.items():
        setattr(model._optimizer, name, value)

    loaded = round_trip(model, tmp_path / "model.h5")
    assert_same_state(model, loaded)
    model.partial_fit(X, y)
    loaded.partial_fit(X, y)
    assert_same_state(model, loaded)


# --- what save refuses ---------------------------------------------------------


def test_save_refuses_unfitted(tmp_path):
    with pytest.raises(NotFittedError):
        save(SoftmaxGD(), tmp_path / "model.h5")
    assert not (tmp_path / "model.h5").exists()


def test_save_refuses_other_estimators(tmp_path):
    X, y = data()

    class Custom(SoftmaxGD):
        pass

    for estimator in (LogisticRegression().fit(X, y), make(Custom).fit(X, y)):
        with pytest.raises(TypeError, match="saves LogisticRegressionGD, SoftmaxGD"):
            save(estimator, tmp_path / "model.h5")
    assert not (tmp_path / "model.h5").exists()


def object_int_classes(model):
    model.classes_ = model.classes_.astype(object)


def nan_weight(model):
    model.coef_[0, 0] = np.nan


def unknown_fitted_attribute(model):
    model.extra_ = 1


# name: (change to a fitted 3-class SoftmaxGD, message)
UNSAVABLE = {
    "random_state_instance": (
        lambda model: model.set_params(random_state=np.random.RandomState(0)),
        "random_state is a RandomState instance",
    ),
    "object_int_classes": (object_int_classes, "classes_' has dtype object"),
    "mixed_class_weight_keys": (
        lambda model: model.set_params(class_weight={0: 1.0, "1": 2.0}),
        "class_weight keys must be all strings or all numbers",
    ),
    "nan_weight": (nan_weight, "coef_' holds NaN"),
    "unknown_fitted_attribute": (unknown_fitted_attribute, r"fitted attributes \['extra_'\]"),
    "invalid_parameter": (
        lambda model: model.set_params(alpha=-1.0),
        "'alpha' parameter of SoftmaxGD",
    ),
}


@pytest.mark.parametrize("case", list(UNSAVABLE))
def test_save_refuses(tmp_path, case):
    spoil, match = UNSAVABLE[case]
    X, y = data()
    model = make(SoftmaxGD).fit(X, y)
    spoil(model)
    with pytest.raises(ValueError, match=f"Cannot save this SoftmaxGD: .*{match}"):
        save(model, tmp_path / "model.h5")
    assert not (tmp_path / "model.h5").exists()


# --- what load refuses -----------------------------------------------------------


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """One saved linear model and one saved network, to copy and tamper with."""
    directory = tmp_path_factory.mktemp("saved")
    X, y = data()
    frame = pd.DataFrame(X, columns=list("abcde"))
    models = {
        "linear": make(SoftmaxGD, optimizer="adam", class_weight={0: 2.0}).fit(frame, y),
        "network": make(ShallowNNClassifier, optimizer="adam").fit(X, y),
    }
    paths = {}
    for kind, model in models.items():
        paths[kind] = directory / f"{kind}.h5"
        save(model, paths[kind])
    return paths


def assert_refused(path, match, monkeypatch, error=ValueError):
    """load raises, having run nothing and built nothing."""

    def forbidden(*args, **kwargs):
        raise AssertionError("load ran code, or built an estimator before checking the file")

    for module, name in [(os, "system"), (pickle, "load"), (pickle, "loads")]:
        monkeypatch.setattr(module, name, forbidden)
    for Estimator in ESTIMATORS:
        monkeypatch.setattr(Estimator, "__init__", forbidden)
    with pytest.raises(error, match=match):
        load(path)


# Edits of a saved file, as functions of the open h5py.File.
def set_attr(path, name, value):
    def edit(f):
        f[path].attrs[name] = value  # replaces the attribute, its type included

    return edit


def delete_attr(path, name):
    def edit(f):
        del f[path].attrs[name]

    return edit


def delete(path):
    def edit(f):
        del f[path]

    return edit


def create(path, value, **kwargs):
    def edit(f):
        f.create_dataset(path, data=value, **kwargs)

    return edit


def replace(path, value, **kwargs):
    def edit(f):
        del f[path]
        create(path, value, **kwargs)(f)

    return edit


def fill(path, value):
    def edit(f):
        f[path][...] = value

    return edit


def soft_link(f):
    del f["fitted/intercept_"]
    f["fitted/intercept_"] = h5py.SoftLink("/fitted/coef_")


def link_cycle(f):
    f["params/class_weight/loop"] = f["params/class_weight"]


def external_storage(f):
    outside = os.path.join(os.path.dirname(f.filename), "outside.bin")
    np.zeros(3).tofile(outside)
    del f["fitted/intercept_"]
    f.create_dataset("fitted/intercept_", shape=(3,), dtype="f8", external=[(outside, 0, 24)])


def future_minor_version():
    major, minor = sknn.__version__.split(".")[:2]
    return f"{major}.{int(minor) + 1}.0"


# name: (saved model, edit, message). The linear model is a 3-class SoftmaxGD
# on 5 features; the network has 6 hidden units.
TAMPERING = {
    "class_name_os_system": (
        "linear",
        set_attr("/", "estimator", "os.system"),
        "unknown estimator 'os.system'",
    ),
    "class_name_dotted_path": (
        "linear",
        set_attr("/", "estimator", "sknn.linear.SoftmaxGD"),
        "unknown estimator 'sknn.linear.SoftmaxGD'",
    ),
    "class_name_of_another_estimator": (
        "linear",
        set_attr("/", "estimator", "ShallowNNClassifier"),
        "'/params' is missing hidden_layer_size",
    ),
    "not_sknn_format": ("linear", set_attr("/", "format", "pickle"), "not an sknn model file"),
    "future_format_version": (
        "linear",
        set_attr("/", "format_version", 2),
        "file format version 2, newer",
    ),
    "future_sknn_version": (
        "linear",
        set_attr("/", "sknn_version", future_minor_version()),
        f"written by sknn {future_minor_version()}, newer",
    ),
    "unknown_parameter": (
        "linear",
        set_attr("params", "foo", 1),
        "'/params' has unexpected entries foo",
    ),
    "missing_parameter": ("linear", delete_attr("params", "alpha"), "'/params' is missing alpha"),
    "parameter_str_for_float": (
        "linear",
        set_attr("params", "alpha", "big"),
        "'alpha' parameter of SoftmaxGD",
    ),
    "parameter_int_for_bool": ("linear", set_attr("params", "shuffle", 1), "'shuffle' parameter"),
    "parameter_out_of_range": ("linear", set_attr("params", "max_iter", 0), "'max_iter' parameter"),
    "random_state_float": (
        "linear",
        set_attr("params", "random_state", 1.5),
        "'random_state' parameter",
    ),
    "parameter_array": (
        "linear",
        set_attr("params", "max_iter", [5, 6]),
        "'/params/max_iter' must be a single number",
    ),
    "class_weight_lengths": (
        "linear",
        replace("params/class_weight/values", [1.0, 2.0]),
        "has 1 keys but 2 values",
    ),
    "coef_shape": (
        "linear",
        replace("fitted/coef_", np.zeros((2, 5))),
        r"coef_' has shape \(2, 5\)",
    ),
    "coef_int_dtype": (
        "linear",
        replace("fitted/coef_", np.zeros((3, 5), int)),
        "coef_' has dtype int64",
    ),
    "coef_float16": (
        "linear",
        replace("fitted/coef_", np.zeros((3, 5), np.float16)),
        "coef_' has dtype float16",
    ),
    "weights_mix_dtypes": (
        "linear",
        replace("fitted/intercept_", np.zeros(3, np.float32)),
        "mix dtypes float32 and float64",
    ),
    "nan_in_coef": ("linear", fill("fitted/coef_", np.nan), "coef_' holds NaN"),
    "missing_intercept": ("linear", delete("fitted/intercept_"), "'/fitted' is missing intercept_"),
    "extra_array": ("linear", create("fitted/extra", [1]), "unexpected entries extra"),
    "classes_unsorted": ("linear", replace("fitted/classes_", [2, 1, 0]), "sorted, unique labels"),
    "classes_vlen_strings": (
        "linear",
        replace("fitted/classes_", ["a", "b", "c"], dtype=h5py.string_dtype()),
        "classes_' has dtype object",
    ),
    "classes_kind_mismatch": (
        "linear",
        set_attr("fitted", "classes_kind", "str"),
        "cannot have classes_kind",
    ),
    "n_iter_mismatch": ("linear", set_attr("fitted", "n_iter_", 99), "n_iter_ is 99"),
    "feature_names_length": (
        "linear",
        replace("fitted/feature_names_in_", np.array([b"a", b"b"])),
        "feature_names_in_' must be 5 strings",
    ),
    "dataset_attribute": ("linear", set_attr("fitted/coef_", "x", 1), "coef_' has attributes"),
    "soft_link": ("linear", soft_link, "soft or external link"),
    "link_cycle": ("linear", link_cycle, "nested deeper than the format allows"),
    "external_storage": ("linear", external_storage, "keeps its data outside this file"),
    "unknown_optimizer": (
        "linear",
        set_attr("optimizer", "name", "sgd"),
        "'/optimizer/name' must be one of",
    ),
    "moment_shape": (
        "linear",
        replace("optimizer/first_moments/W", np.zeros((5, 2))),
        r"first_moments/W' has shape \(5, 2\); expected \(5, 3\)",
    ),
    "missing_moment": (
        "linear",
        delete("optimizer/second_moments/b"),
        "second_moments' is missing b",
    ),
    "adam_t_without_moments": ("linear", set_attr("optimizer", "t", 0), "exactly when t > 0"),
    "negative_learning_rate": (
        "linear",
        set_attr("optimizer", "learning_rate", -1.0),
        "positive finite number",
    ),
    "rng_key_shape": (
        "linear",
        replace("rng/key", np.zeros(10, np.uint32)),
        "key' must be 624 uint32 values",
    ),
    "rng_pos": ("linear", set_attr("rng", "pos", 700), r"pos' must be an integer in \[0, 624\]"),
    "hidden_size_mismatch": (
        "network",
        set_attr("params", "hidden_layer_size", 7),
        r"coefs_/0' has shape \(5, 6\); expected \(5, 7\)",
    ),
    "network_missing_layer": (
        "network",
        delete("fitted/intercepts_/1"),
        "intercepts_' is missing 1",
    ),
    "network_inf": ("network", fill("fitted/coefs_/1", np.inf), "coefs_/1' holds NaN or infinite"),
}


@pytest.mark.parametrize("case", list(TAMPERING))
def test_load_refuses_tampered_file(saved, tmp_path, monkeypatch, case):
    model, edit, match = TAMPERING[case]
    path = tmp_path / "model.h5"
    shutil.copy(saved[model], path)
    with h5py.File(path, "r+") as f:
        edit(f)
    assert_refused(path, f"Cannot load '.*model.h5': .*{match}", monkeypatch)


def test_load_missing_file(tmp_path, monkeypatch):
    assert_refused(tmp_path / "nope.h5", "No such sknn model file", monkeypatch, FileNotFoundError)


def test_load_not_hdf5(tmp_path, monkeypatch):
    path = tmp_path / "model.h5"
    path.write_bytes(pickle.dumps(SoftmaxGD()))
    assert_refused(path, "not a readable HDF5 file", monkeypatch)


def test_load_truncated(saved, tmp_path, monkeypatch):
    path = tmp_path / "model.h5"
    content = saved["linear"].read_bytes()
    path.write_bytes(content[: len(content) // 2])
    assert_refused(path, "not a readable HDF5 file", monkeypatch)


def test_load_other_hdf5_file(tmp_path, monkeypatch):
    path = tmp_path / "data.h5"
    with h5py.File(path, "w") as f:
        f["X"] = np.zeros((3, 2))
    assert_refused(path, "not an sknn model file: its 'format' attribute is None", monkeypatch)


# --- assumptions sknn.io makes about the estimators -------------------------------


@parametrize_estimators
def test_constraints_name_every_parameter(Estimator):
    # load checks names and types against _parameter_constraints alone.
    assert set(Estimator._parameter_constraints) == set(Estimator().get_params())


@pytest.mark.parametrize("n_classes", [2, 3, 4])
@parametrize_estimators
def test_output_units_match_the_estimators(Estimator, n_classes):
    _, n_outputs = Estimator()._output_layer(n_classes)
    assert sknn_io._n_outputs(Estimator, n_classes) == n_outputs


# --- property: any small model round-trips -----------------------------------------


@parametrize_estimators
@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_samples=st.integers(8, 40),
    n_features=st.integers(1, 6),
    n_classes=st.integers(2, 4),
    hidden_layer_size=st.integers(1, 8),
    optimizer=st.sampled_from(OPTIMIZERS),
    float32=st.booleans(),
)
def test_any_small_model_round_trips(
    Estimator, seed, n_samples, n_features, n_classes, hidden_layer_size, optimizer, float32
):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_samples, n_features)).astype(np.float32 if float32 else np.float64)
    y = rng.permutation(np.arange(n_samples) % n_classes)  # every class present
    params = {"optimizer": optimizer, "max_iter": 3, "random_state": seed}
    if Estimator is ShallowNNClassifier:
        params.update(hidden_layer_size=hidden_layer_size, learning_rate=0.05)
    model = make(Estimator, **params).fit(X, y)

    with tempfile.TemporaryDirectory() as directory:
        loaded = round_trip(model, os.path.join(directory, "model.h5"))

    assert_same_state(model, loaded)
    assert_same_array(model.predict(X), loaded.predict(X))
    assert_array_equal(loaded.predict_proba(X), model.predict_proba(X), strict=True)
