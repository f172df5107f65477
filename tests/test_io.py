"""sknn.io: saving fitted estimators to HDF5 and loading them back (sknn/io.py).

Hostile, corrupt and failing files are in test_io_hostile.py.
"""

import math
import os
import tempfile

import h5py
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import skops.io
from conftest import ESTIMATORS, LINEAR, OPTIMIZERS, _data
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_array_equal
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression

import sknn
from sknn import LogisticRegressionGD, ShallowNNClassifier, SoftmaxGD
from sknn._estimator.state import _FITTED_ATTRIBUTES, _OPTIONAL_FITTED_ATTRIBUTES
from sknn.io import load, save
from sknn.io import schema as _io_schema

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
    X, y = _data(n_classes=n_classes, n_samples=n_samples, n_features=n_features, seed=seed)
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
    if isinstance(expected, dict):
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
    save(
        make(ShallowNNClassifier, optimizer="adam", class_weight={"kat": 2.0}).fit(
            X, LABELS["str"][y]
        ),
        path,
    )

    def plain(dtype):
        return dtype.kind in "biufS" and h5py.check_vlen_dtype(dtype) is None

    with h5py.File(path) as f:
        assert f.attrs["format"] == b"sknn-model" and f.attrs["format_version"] == 2
        assert f.attrs["sknn_version"] == sknn.__version__.encode()
        assert f.attrs["checksum"].startswith(b"sha256:")
        assert set(f) == {"params", "attributes", "optimizer", "rng"}
        assert set(f["optimizer/state"]) == {"first_moments", "second_moments"}
        objects = [f]
        f.visit(lambda name: objects.append(f[name]))
        for obj in objects:
            assert all(plain(obj.attrs.get_id(name).dtype) for name in obj.attrs)
            if isinstance(obj, h5py.Dataset):
                assert plain(obj.dtype), obj.name
                assert obj.compression is None and not obj.external, obj.name


def test_same_model_same_bytes(tmp_path):
    model = make(SoftmaxGD).fit(*data())
    save(model, tmp_path / "a.h5")
    save(model, tmp_path / "b.h5")
    assert (tmp_path / "a.h5").read_bytes() == (tmp_path / "b.h5").read_bytes()


@parametrize_estimators
def test_only_the_estimator_class_is_untrusted_for_skops(Estimator):
    X, y = data()
    frame = pd.DataFrame(X, columns=list("abcde"))
    for optimizer in OPTIMIZERS:
        model = make(Estimator, optimizer=optimizer, early_stopping=True, class_weight={"kat": 2})
        model.fit(frame, LABELS["object"][y])
        untrusted = skops.io.get_untrusted_types(data=skops.io.dumps(model))
        assert untrusted == [f"{Estimator.__module__}.{Estimator.__name__}"], optimizer


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


@pytest.mark.parametrize("batch_size", [None, 16], ids=["full_batch", "mini_batch"])
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@parametrize_estimators
def test_warm_start_after_load_continues_exactly(tmp_path, Estimator, optimizer, batch_size):
    X, y = data(dtype=np.float32)
    # Shuffled mini-batches and a validation split: the random state matters.
    model = make(
        Estimator,
        optimizer=optimizer,
        warm_start=True,
        batch_size=batch_size,
        early_stopping=True,
    ).fit(X, y)

    loaded = round_trip(model, tmp_path / "model.h5")
    model.fit(X, y)
    loaded.fit(X, y)

    assert_same_state(model, loaded)


@pytest.mark.parametrize(
    "optimizer, unstepped",
    [("momentum", {}), ("adam", {"t": 0}), ("nesterov", {"t": 1.0, "previous_loss": math.inf})],
)
def test_optimizer_before_its_first_step(tmp_path, optimizer, unstepped):
    # As after a fit that diverged on its very first step: no state allocated.
    X, y = data()
    model = make(SoftmaxGD, optimizer=optimizer).fit(X, y)
    state = model._get_state()
    model._set_state({**state, "optimizer": {"name": optimizer, "state": unstepped}})

    loaded = round_trip(model, tmp_path / "model.h5")
    assert_same_state(model, loaded)
    model.partial_fit(X, y)
    loaded.partial_fit(X, y)
    assert_same_state(model, loaded)


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@parametrize_estimators
def test_model_that_diverged_in_its_first_epoch_saves(tmp_path, Estimator, optimizer):
    X, y = data()
    with pytest.warns(UserWarning, match="diverged"):
        model = Estimator(
            optimizer=optimizer, learning_rate=1e8, batch_size=16, max_iter=3, random_state=0
        ).fit(X, y)
    assert model.n_iter_ == 0 and model.loss_curve_ == [] and model.best_loss_ == math.inf

    loaded = round_trip(model, tmp_path / "model.h5")

    assert_same_state(model, loaded)
    assert_array_equal(loaded.predict_proba(X), model.predict_proba(X), strict=True)


def test_optimizer_state_of_another_optimizer_is_kept(tmp_path):
    # set_params(optimizer=...) after a fit: the old state is kept, and ignored by the next fit.
    X, y = data()
    model = make(SoftmaxGD, optimizer="adam", warm_start=True).fit(X, y).set_params(optimizer="gd")
    loaded = round_trip(model, tmp_path / "model.h5")
    assert loaded._get_state()["optimizer"]["name"] == "adam"
    assert_same_state(model.fit(X, y), loaded.fit(X, y))


# --- what save refuses ---------------------------------------------------------


def test_save_refuses_unfitted(tmp_path):
    with pytest.raises(NotFittedError):
        save(SoftmaxGD(), tmp_path / "model.h5")
    assert not list(tmp_path.iterdir())


def test_save_refuses_other_estimators(tmp_path):
    X, y = data()

    class Custom(SoftmaxGD):
        pass

    for estimator in (LogisticRegression().fit(X, y), make(Custom).fit(X, y)):
        with pytest.raises(TypeError, match="saves LogisticRegressionGD, SoftmaxGD"):
            save(estimator, tmp_path / "model.h5")
    assert not list(tmp_path.iterdir())


def object_int_classes(model):
    model.classes_ = model.classes_.astype(object)


def nan_weight(model):
    model.coef_[0, 0] = np.nan


def unknown_fitted_attribute(model):
    model.extra_ = 1


def label_with_lone_surrogate(model):
    model.classes_ = np.array(["a", "b", "c\udc80"])


# name: (change to a fitted 3-class SoftmaxGD, message)
UNSAVABLE = {
    "random_state_instance": (
        lambda model: model.set_params(random_state=np.random.RandomState(0)),
        "random_state is a RandomState instance",
    ),
    "object_int_classes": (object_int_classes, "classes_' has dtype object holding int"),
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
    "lone_surrogate": (label_with_lone_surrogate, "classes_' holds a str that is not valid"),
    "parameter_of_another_type": (
        lambda model: model.set_params(verbose=[1]),
        "'/params/verbose' must be a single value, not an array",
    ),
}


@pytest.mark.parametrize("case", list(UNSAVABLE))
def test_save_refuses(tmp_path, monkeypatch, case):
    spoil, match = UNSAVABLE[case]
    X, y = data()
    model = make(SoftmaxGD).fit(X, y)
    spoil(model)

    def forbidden(*args, **kwargs):
        raise AssertionError("save opened a file before checking everything")

    monkeypatch.setattr(os, "open", forbidden)
    monkeypatch.setattr(h5py, "File", forbidden)
    with pytest.raises(ValueError, match=f"Cannot save this SoftmaxGD: .*{match}"):
        save(model, tmp_path / "model.h5")
    assert not list(tmp_path.iterdir())


# --- files of format version 1 (before the state API) ------------------------------


def write_version_1(model, path):
    """Write ``model`` as sknn wrote files before format version 2 (see io's docstring)."""

    def text(value):
        encoded = np.char.encode(np.asarray(value, dtype=str), "utf-8")
        return encoded.astype(h5py.string_dtype("utf-8", encoded.dtype.itemsize))

    def attrs(group, values):
        for name, value in values.items():
            if value is None:
                group.attrs[name] = h5py.Empty("f")
            else:
                group.attrs.create(name, text(value) if isinstance(value, str) else value)

    def datasets(group, values):
        for name, value in values.items():
            value = np.asarray(
                value, dtype=np.float64 if isinstance(value, list) and not value else None
            )
            group[name] = text(value) if value.dtype.kind in "UO" else value

    state = model._get_state()
    fitted, optimizer, rng = state["attributes"], state["optimizer"], state["rng"]
    with h5py.File(path, "w") as f:
        attrs(f, {"format": "sknn-model", "format_version": 1, "sknn_version": "0.1.0"})
        attrs(f, {"estimator": type(model).__name__})
        params = model.get_params()
        class_weight = params.pop("class_weight") if params["class_weight"] else None
        attrs(f.create_group("params"), params)
        if class_weight is not None:
            keys, values = list(class_weight), list(class_weight.values())
            datasets(f.create_group("params/class_weight"), {"keys": keys, "values": values})
        group = f.create_group("fitted")
        scalars = ("n_features_in_", "n_iter_", "best_loss_", "stop_reason_")
        kind = {"O": "object", "U": "str"}.get(fitted["classes_"].dtype.kind, "numeric")
        attrs(group, {"classes_kind": kind, **{name: fitted[name] for name in scalars}})
        for name, value in fitted.items():
            if name in ("coefs_", "intercepts_"):  # lists of arrays: groups 0 and 1
                datasets(group.create_group(name), {str(i): a for i, a in enumerate(value)})
            elif name not in scalars:
                datasets(group, {name: value})
        group = f.create_group("optimizer")
        names = {"gd": 1, "momentum": 2, "adam": 4}[optimizer["name"]]
        hyperparameters = dict(
            zip(["learning_rate", "beta_1", "beta_2", "epsilon"][:names], [0.1] * 4)
        )
        attrs(group, {"name": optimizer["name"], **hyperparameters})
        for name, value in optimizer["state"].items():
            if isinstance(value, dict):
                datasets(group.create_group(name), value)
            else:
                attrs(group, {name: value})
        group = f.create_group("rng")
        group["key"] = rng["state"]["key"]
        attrs(group, {"pos": rng["state"]["pos"], "has_gauss": rng["has_gauss"]})
        attrs(group, {"cached_gaussian": rng["gauss"]})


@pytest.mark.parametrize("optimizer", ["gd", "momentum", "adam"])  # version 1 had no nesterov
@parametrize_estimators
def test_version_1_files_load_and_continue_exactly(tmp_path, Estimator, optimizer):
    X, y = data()
    frame = pd.DataFrame(X, columns=list("abcde"))
    labels = LABELS["object"] if Estimator is SoftmaxGD else LABELS["str"]
    model = make(Estimator, optimizer=optimizer, batch_size=16, class_weight={"kat": 2.0})
    model.partial_fit(frame, labels[y], classes=labels[:3]).partial_fit(frame, labels[y])
    write_version_1(model, tmp_path / "v1.h5")

    loaded = load(tmp_path / "v1.h5")

    assert_same_state(model, loaded)
    assert_same_value(model.get_params(), loaded.get_params(), "params")
    model.partial_fit(frame, labels[y])
    loaded.partial_fit(frame, labels[y])
    assert_same_state(model, loaded)


def test_version_1_adam_before_its_first_step(tmp_path):
    model = make(SoftmaxGD, optimizer="adam").fit(*data())
    model._set_state({**model._get_state(), "optimizer": {"name": "adam", "state": {"t": 0}}})
    write_version_1(model, tmp_path / "v1.h5")
    assert_same_state(model, load(tmp_path / "v1.h5"))


# --- assumptions sknn.io makes about the estimators -------------------------------


@parametrize_estimators
def test_constraints_name_every_parameter(Estimator):
    # load checks names and types against _parameter_constraints alone.
    assert set(Estimator._parameter_constraints) == set(Estimator().get_params())


def test_the_format_knows_every_shared_fitted_attribute():
    assert set(_io_schema.REQUIRED_ATTRIBUTES) == set(_FITTED_ATTRIBUTES)
    assert set(_io_schema.OPTIONAL_ATTRIBUTES) == set(_OPTIONAL_FITTED_ATTRIBUTES)


@pytest.mark.parametrize("n_classes", [2, 3])
@parametrize_estimators
def test_schema_matches_the_fitted_state(Estimator, n_classes):
    X, y = data(n_classes)
    for optimizer in OPTIMIZERS:
        state = make(Estimator, optimizer=optimizer).fit(X, y)._get_state()
        schema = make(Estimator)._state_schema(5, n_classes)
        for name, shape in schema["weights"].items():
            value = state["attributes"][name]
            assert (
                [a.shape for a in value] == shape
                if isinstance(shape, list)
                else value.shape == shape
            )
        for value in state["optimizer"]["state"].values():
            if isinstance(value, dict):
                assert {k: a.shape for k, a in value.items()} == schema["parameters"]


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


@pytest.mark.parametrize("Estimator", [LogisticRegressionGD, ShallowNNClassifier])
def test_multilabel_models_round_trip_and_continue_exactly(tmp_path, Estimator):
    from sklearn.datasets import make_multilabel_classification

    X, Y = make_multilabel_classification(n_samples=60, n_classes=2, random_state=0)
    model = make(Estimator, max_iter=15, tol=None).fit(X, Y)
    save(model, tmp_path / "multilabel.h5")
    restored = load(tmp_path / "multilabel.h5")
    assert restored.multilabel_
    assert_array_equal(restored.predict(X), model.predict(X))
    assert_array_equal(restored.predict_proba(X), model.predict_proba(X))
    for estimator in (model, restored):
        estimator.set_params(warm_start=True, max_iter=5).fit(X, Y)
    assert_array_equal(restored.predict_proba(X), model.predict_proba(X))
    with h5py.File(tmp_path / "multilabel.h5", "r+") as f:
        f.attrs["multilabel"] = False
    with pytest.raises(ValueError, match="multilabel"):
        load(tmp_path / "multilabel.h5")


def test_a_multilabel_flag_is_refused_where_it_cannot_hold(tmp_path):
    from sklearn.datasets import make_multilabel_classification

    X, Y = make_multilabel_classification(n_samples=40, n_classes=3, random_state=0)
    save(make(SoftmaxGD, max_iter=3, tol=None).fit(X, Y.argmax(axis=1)), tmp_path / "s.h5")
    with h5py.File(tmp_path / "s.h5", "r+") as f:
        f.attrs["multilabel"] = True
    with pytest.raises(ValueError, match="multilabel"):
        load(tmp_path / "s.h5")


# --- conjugate gradient (the linear models' full-batch default) -----------------

parametrize_linear = pytest.mark.parametrize("Estimator", LINEAR, ids=lambda E: E.__name__)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("optimizer", ["cg", "lbfgs", "auto"])
@pytest.mark.parametrize("early_stopping", [False, True], ids=["", "early_stopping"])
@parametrize_linear
def test_line_search_warm_start_after_load_continues_exactly(
    tmp_path, Estimator, optimizer, early_stopping, dtype
):
    X, y = data(dtype=dtype)
    X = X * np.logspace(-2, 2, X.shape[1], dtype=dtype) + dtype(1.0)  # centred and scaled
    model = make(
        Estimator, optimizer=optimizer, warm_start=True, early_stopping=early_stopping
    ).fit(X, y)
    saved = model._get_state()["optimizer"]
    if optimizer == "cg":
        assert saved["name"] == "cg"
        assert set(saved["state"]) == {
            "direction",
            "previous_gradient",
            "previous_step",
            "previous_slope",
        }
    else:
        assert saved["name"] == "lbfgs"
        assert set(saved["state"]) == {"steps", "gradient_changes"}

    loaded = round_trip(model, tmp_path / "model.h5")
    assert_same_state(model, loaded)
    model.fit(X, y)
    loaded.fit(X, y)

    assert_same_state(model, loaded)


@pytest.mark.parametrize("optimizer", ["cg", "lbfgs", "auto"])
@parametrize_linear
def test_line_search_partial_fit_after_load_continues_exactly(tmp_path, Estimator, optimizer):
    X, y = data()
    model = make(Estimator, optimizer=optimizer)
    model.partial_fit(X, y, classes=np.unique(y)).partial_fit(X, y)

    loaded = round_trip(model, tmp_path / "model.h5")
    model.partial_fit(X, y)
    loaded.partial_fit(X, y)

    assert_same_state(model, loaded)
    # and as one fit of three epochs (which reuses the line's logits for its
    # gradients, where each partial_fit starts from X: ulps apart) by the
    # optimizer partial_fit ran ('auto' is nesterov there).
    assert model._optimizer_state["name"] == ("nesterov" if optimizer == "auto" else optimizer)
    once = make(Estimator, optimizer=model._optimizer_state["name"], max_iter=3).fit(X, y)
    np.testing.assert_allclose(loaded.predict_proba(X), once.predict_proba(X), rtol=1e-12)


@parametrize_linear
def test_cg_before_its_first_step_and_a_sample_space_fit_round_trip(tmp_path, Estimator):
    X, y = data()
    model = make(Estimator, optimizer="cg").fit(X, y)
    model._set_state({**model._get_state(), "optimizer": {"name": "cg", "state": {}}})
    loaded = round_trip(model, tmp_path / "unstepped.h5")
    assert_same_state(model, loaded)
    model.partial_fit(X, y)
    loaded.partial_fit(X, y)
    assert_same_state(model, loaded)
    # Wide data trains in sample space; its state is saved mapped to W.
    X, y = data(n_samples=20, n_features=60)
    model = make(Estimator, max_iter=30, warm_start=True).fit(X, y)
    loaded = round_trip(model, tmp_path / "wide.h5")
    model.fit(X, y)
    loaded.fit(X, y)
    assert_same_state(model, loaded)


@pytest.mark.parametrize("optimizer", ["cg", "lbfgs"])
@pytest.mark.parametrize("n_classes", [2, 3])
@parametrize_linear
def test_line_search_state_matches_the_schema(Estimator, n_classes, optimizer):
    X, y = data(n_classes)
    state = make(Estimator, optimizer=optimizer).fit(X, y)._get_state()
    schema = make(Estimator)._state_schema(5, n_classes)
    arrays = [value for value in state["optimizer"]["state"].values() if isinstance(value, dict)]
    assert len(arrays) == 2
    for value in arrays:
        # L-BFGS stacks its pairs: a leading axis, one row per pair.
        shapes = {k: a.shape if optimizer == "cg" else a.shape[1:] for k, a in value.items()}
        assert shapes == schema["parameters"]


@parametrize_linear
def test_a_stalled_fit_round_trips(tmp_path, Estimator):
    # (float32 fits that cannot meet tol stop 'stalled': see test_linear)
    X, y = data()
    model = make(Estimator).fit(X, y)
    model.stop_reason_ = "stalled"
    loaded = round_trip(model, tmp_path / "stalled.h5")
    assert_same_state(model, loaded)
    assert loaded.stop_reason_ == "stalled"
