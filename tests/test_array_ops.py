"""The estimators on Array API arrays (PyTorch, array-api-strict), against their NumPy fits.

Each namespace's tests skip, saying why, where its library is not installed;
CI installs both (see .ci/run). Everything runs under
``sklearn.config_context(array_api_dispatch=True)``, which needs
``SCIPY_ARRAY_API=1`` (the README's test command sets it).
"""

import os
import warnings

import conftest
import numpy as np
import pytest
from conftest import ESTIMATORS, OPTIMIZERS, make
from numpy.testing import assert_allclose, assert_array_equal
from sklearn import config_context
from sklearn.base import clone
from sklearn.preprocessing import StandardScaler
from sklearn.utils._array_api import get_namespace_and_device, move_estimator_to, move_to
from sklearn.utils.estimator_checks import (
    check_array_api_input_and_values,
    check_array_api_mixed_inputs,
)

from sknn import LogisticRegressionGD, ShallowNNClassifier, SoftmaxGD
from sknn._core.array_ops import NUMPY_OPS, array_ops
from sknn.io import load, save

pytestmark = pytest.mark.skipif(
    os.environ.get("SCIPY_ARRAY_API") != "1",
    reason="array_api_dispatch needs SCIPY_ARRAY_API=1 set before scipy is imported",
)


def _torch():
    torch = pytest.importorskip("torch", reason="PyTorch is not installed (pip install torch)")
    return torch


def _strict():
    return pytest.importorskip(
        "array_api_strict",
        reason="array-api-strict is not installed (pip install array-api-strict)",
    )


NAMESPACES = ["torch", "array_api_strict"]


def _namespace(name):
    """``(xp, device, to_array)`` of a namespace on its CPU device; skips where absent."""
    if name == "torch":
        torch = _torch()
        return torch, torch.device("cpu"), lambda a: torch.asarray(a, device="cpu")
    strict = _strict()
    device = strict.Device("CPU_DEVICE")
    return strict, device, lambda a: strict.asarray(a, device=device)


def _numpy(array):
    return move_to(array, xp=np, device="cpu")


def _data(**kwargs):
    X, y = conftest._data(**kwargs)
    return StandardScaler().fit_transform(X), y


def _fit_both(estimator, X, y, to_array, sample_weight=None):
    """The NumPy fit and the fit on ``to_array`` arrays (under dispatch) of one estimator."""
    reference = clone(estimator).fit(X, y, sample_weight=sample_weight)
    sw = None if sample_weight is None else to_array(sample_weight)
    with config_context(array_api_dispatch=True):
        other = clone(estimator).fit(to_array(X), to_array(y), sample_weight=sw)
    return reference, other


def _assert_same_model(reference, other, X, to_array, rtol=1e-10):
    for name in reference._weight_attributes:
        for expected, got in zip(
            _as_list(getattr(reference, name)), _as_list(getattr(other, name))
        ):
            assert_allclose(_numpy(got), expected, rtol=rtol, atol=rtol)
    assert other.n_iter_ == reference.n_iter_
    assert other.stop_reason_ == reference.stop_reason_
    assert_allclose(other.loss_curve_, reference.loss_curve_, rtol=rtol)
    with config_context(array_api_dispatch=True):
        proba = other.predict_proba(to_array(X))
        labels = other.predict(to_array(X))
    assert_allclose(_numpy(proba), reference.predict_proba(X), rtol=rtol, atol=rtol)
    assert_array_equal(_numpy(labels), reference.predict(X))


def _as_list(value):
    return value if isinstance(value, list) else [value]


@pytest.mark.parametrize("namespace", NAMESPACES)
@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("batch_size", [None, 16])
def test_fit_equals_the_numpy_fit(namespace, Estimator, optimizer, batch_size):
    _, _, to_array = _namespace(namespace)
    X, y = _data()
    estimator = make(
        Estimator, optimizer=optimizer, batch_size=batch_size, max_iter=30, tol=None, random_state=0
    )
    reference, other = _fit_both(estimator, X, y, to_array)
    _assert_same_model(reference, other, X, to_array, rtol=_rtol(optimizer))


@pytest.mark.parametrize("namespace", NAMESPACES)
@pytest.mark.parametrize("Estimator", [LogisticRegressionGD, SoftmaxGD])
def test_lbfgs_with_its_memory_full_equals_the_numpy_fit(namespace, Estimator, monkeypatch):
    # Room for 3 pairs in 30 steps: the history moves up into new rows each step.
    from sknn._core.optimizers import lbfgs

    monkeypatch.setattr(lbfgs, "_LBFGS_MEMORY", 3)
    _, _, to_array = _namespace(namespace)
    X, y = _data()
    estimator = Estimator(optimizer="lbfgs", max_iter=30, tol=None)
    reference, other = _fit_both(estimator, X, y, to_array)
    assert other.n_iter_ == reference.n_iter_ == 30
    _assert_same_model(reference, other, X, to_array)


def _rtol(optimizer):
    # Adam divides each gradient entry by its own running magnitude: where a
    # gradient is at rounding level (a softmax's intercepts sum to zero), the
    # step follows the rounding, which differs by an ulp between BLAS
    # libraries (PyTorch's own, NumPy's OpenBLAS).
    return 1e-8 if optimizer == "adam" else 1e-10


@pytest.mark.parametrize("namespace", NAMESPACES)
@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_defaults_converge_as_on_numpy(namespace, Estimator):
    # The line search, restarts and the stopping rule take the same decisions.
    _, _, to_array = _namespace(namespace)
    X, y = _data(n_classes=2, n_samples=80)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the network may end at max_iter, on both
        reference, other = _fit_both(make(Estimator, random_state=0, max_iter=300), X, y, to_array)
    _assert_same_model(reference, other, X, to_array, rtol=1e-9)


@pytest.mark.parametrize("namespace", NAMESPACES)
@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_fitted_attributes_and_outputs_live_in_the_input_namespace(namespace, Estimator):
    xp, device, to_array = _namespace(namespace)
    X, y = _data()
    with config_context(array_api_dispatch=True):
        model = make(Estimator, max_iter=5, tol=None).fit(to_array(X), to_array(y))
        outputs = [
            model.predict(to_array(X)),
            model.predict_proba(to_array(X)),
            model.predict_log_proba(to_array(X)),
            model.decision_function(to_array(X)),
            model.classes_,
        ]
        for name in model._weight_attributes:
            outputs += _as_list(getattr(model, name))
        for array in outputs:
            array_xp, _, array_device = get_namespace_and_device(array)
            assert array_xp.__name__.endswith(xp.__name__.split(".")[-1])
            assert array_device == device
        assert isinstance(model.score(to_array(X), to_array(y)), float)


@pytest.mark.parametrize("namespace", NAMESPACES)
@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_float32_stays_float32(namespace, Estimator):
    xp, _, to_array = _namespace(namespace)
    X, y = _data()
    X32 = X.astype(np.float32)
    with config_context(array_api_dispatch=True):
        model = make(Estimator, max_iter=5, tol=None).fit(to_array(X32), to_array(y))
        proba = model.predict_proba(to_array(X32))
    assert proba.dtype == xp.float32
    for name in model._weight_attributes:
        assert all(a.dtype == xp.float32 for a in _as_list(getattr(model, name)))
    reference = make(Estimator, max_iter=5, tol=None).fit(X32, y)
    assert_allclose(_numpy(proba), reference.predict_proba(X32), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("namespace", NAMESPACES)
@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize("optimizer", ["nesterov", "adam"])
def test_warm_start_and_partial_fit_continue_exactly(namespace, Estimator, optimizer):
    _, _, to_array = _namespace(namespace)
    X, y = _data()
    Xa, ya = to_array(X), to_array(y)
    params = dict(optimizer=optimizer, tol=None, random_state=0)
    whole = make(Estimator, max_iter=12, **params).fit(X, y)
    with config_context(array_api_dispatch=True):
        split = make(Estimator, max_iter=5, warm_start=True, **params).fit(Xa, ya)
        split.set_params(max_iter=7).fit(Xa, ya)
    _assert_same_model(whole, split, X, to_array, rtol=_rtol(optimizer))

    incremental = make(Estimator, **params)
    with config_context(array_api_dispatch=True):
        streamed = make(Estimator, **params)
        for _ in range(3):
            incremental.partial_fit(X, y, classes=np.unique(y))
            streamed.partial_fit(Xa, ya, classes=to_array(np.unique(y)))
    _assert_same_model(incremental, streamed, X, to_array, rtol=_rtol(optimizer))


@pytest.mark.parametrize("namespace", NAMESPACES)
@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_weights_class_weights_and_early_stopping_as_on_numpy(namespace, Estimator):
    _, _, to_array = _namespace(namespace)
    X, y = _data()
    weights = np.random.RandomState(0).uniform(0, 2, size=len(y))
    weights[:5] = 0  # dropped rows
    estimator = make(
        Estimator,
        max_iter=40,
        class_weight="balanced",
        early_stopping=True,
        n_iter_no_change=3,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference, other = _fit_both(estimator, X, y, to_array, sample_weight=weights)
    _assert_same_model(reference, other, X, to_array)
    assert_allclose(other.validation_loss_curve_, reference.validation_loss_curve_, rtol=1e-10)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_y_and_weights_of_other_namespaces_follow_x(Estimator):
    torch, strict = _torch(), _strict()
    X, y = _data()
    weights = np.linspace(0.5, 1.5, len(y))
    reference = make(Estimator, max_iter=10, tol=None).fit(X, y, sample_weight=weights)
    with config_context(array_api_dispatch=True):
        model = make(Estimator, max_iter=10, tol=None).fit(
            torch.asarray(X), strict.asarray(y), sample_weight=weights
        )
        proba = model.predict_proba(torch.asarray(X))
    assert isinstance(proba, torch.Tensor)
    assert_allclose(proba.numpy(), reference.predict_proba(X), rtol=1e-10)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_string_labels_stay_numpy_and_predict_gives_them(Estimator):
    torch = _torch()
    X, y = _data()
    labels = np.array(["ant", "bee", "cat"])[y]
    with config_context(array_api_dispatch=True):
        model = make(Estimator, max_iter=10, tol=None).fit(torch.asarray(X), labels)
        predicted = model.predict(torch.asarray(X))
        assert isinstance(model.predict_proba(torch.asarray(X)), torch.Tensor)
    assert isinstance(model.classes_, np.ndarray) and isinstance(predicted, np.ndarray)
    assert_array_equal(predicted, make(Estimator, max_iter=10, tol=None).fit(X, labels).predict(X))


# SoftmaxGD refuses a multilabel y (test_multilabel.py).
@pytest.mark.parametrize("Estimator", [LogisticRegressionGD, ShallowNNClassifier])
def test_multilabel_indicator_on_torch(Estimator):
    torch = _torch()
    X, _ = _data()
    Y = (X[:, :3] > 0).astype(np.int64)
    reference = make(Estimator, max_iter=10, tol=None).fit(X, Y)
    with config_context(array_api_dispatch=True):
        model = make(Estimator, max_iter=10, tol=None).fit(torch.asarray(X), torch.asarray(Y))
        predicted = model.predict(torch.asarray(X))
    assert isinstance(predicted, torch.Tensor) and predicted.dtype == torch.int64
    assert_array_equal(predicted.numpy(), reference.predict(X))


@pytest.mark.parametrize("namespace", NAMESPACES)
@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_prediction_refuses_another_namespace_than_the_fit(namespace, Estimator):
    _, _, to_array = _namespace(namespace)
    X, y = _data()
    with config_context(array_api_dispatch=True):
        model = make(Estimator, max_iter=3, tol=None).fit(to_array(X), to_array(y))
        with pytest.raises(ValueError, match="must use the same namespace"):
            model.predict(X)
    with pytest.raises(ValueError, match="array_api_dispatch=True"):
        model.predict_proba(X)  # dispatch off: NumPy X, weights elsewhere


_METHODS = ("predict", "predict_proba", "predict_log_proba", "decision_function")


@pytest.mark.parametrize("namespace", NAMESPACES)
@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize("fit_dtype", ["float64", "float32"])
def test_x_of_another_dtype_than_the_fit_is_computed_as_numpy_computes_it(
    namespace, Estimator, fit_dtype
):
    # NumPy promotes float32 X on a float64 model (and the reverse) to float64;
    # PyTorch's matmul used to raise "expected m1 and m2 to have the same dtype".
    xp, device, to_array = _namespace(namespace)
    X, y = _data()
    with config_context(array_api_dispatch=True):
        model = make(Estimator, max_iter=5, tol=None).fit(
            to_array(X.astype(fit_dtype)), to_array(y)
        )
    reference = move_estimator_to(model, np, "cpu")
    others = {
        "float32": X.astype(np.float32),
        "float64": X,
        "int64": np.round(3 * X).astype(np.int64),
    }
    if namespace == "torch":
        others["float16"] = X.astype(np.float16)  # array-api-strict has no float16
    for X_other in others.values():
        if X_other.dtype == fit_dtype:
            continue
        for method in _METHODS:
            expected = getattr(reference, method)(X_other)
            with config_context(array_api_dispatch=True):
                got = _numpy(getattr(model, method)(to_array(X_other)))
            assert got.dtype == expected.dtype
            # Both in float64, in two BLAS libraries' summation orders.
            assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("namespace", ["numpy", *NAMESPACES])
@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_complex_input_is_refused_by_fit_and_every_prediction(namespace, Estimator):
    # A complex tensor used to be cast to real, its imaginary part dropped.
    if namespace == "numpy":
        to_array = np.asarray
    else:
        _, _, to_array = _namespace(namespace)
    X, y = _data()
    X_complex = to_array(X + 1j * X)
    with config_context(array_api_dispatch=True):
        model = make(Estimator, max_iter=3, tol=None).fit(to_array(X), to_array(y))
        before = _numpy(model.predict_proba(to_array(X)))
        for call in (
            lambda: make(Estimator).fit(X_complex, to_array(y)),
            lambda: make(Estimator).partial_fit(X_complex, to_array(y), classes=np.unique(y)),
            lambda: model.fit(X_complex, to_array(y)),
            *(lambda m=m: getattr(model, m)(X_complex) for m in _METHODS),
        ):
            with pytest.raises(ValueError, match="Complex data not supported: X has the complex"):
                call()
        # A call that raises leaves the estimator as it was.
        assert_array_equal(_numpy(model.predict_proba(to_array(X))), before)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_tensors_that_require_grad_are_refused_saying_to_detach(Estimator):
    torch = _torch()
    X, y = _data()
    tracked = torch.asarray(X).requires_grad_(True)
    with config_context(array_api_dispatch=True):
        model = make(Estimator, max_iter=3, tol=None).fit(torch.asarray(X), torch.asarray(y))
        calls = [
            lambda: make(Estimator).fit(tracked, torch.asarray(y)),
            lambda: make(Estimator).partial_fit(tracked, torch.asarray(y), classes=np.unique(y)),
            *(lambda m=m: getattr(model, m)(tracked) for m in _METHODS),
        ]
        for call in calls:
            with pytest.raises(
                ValueError, match=r"X is a tensor that requires grad.*X\.detach\(\)"
            ):
                call()
        weights = torch.ones(len(y), dtype=torch.float64, requires_grad=True)
        with pytest.raises(ValueError, match=r"sample_weight\.detach\(\)"):
            make(Estimator).fit(torch.asarray(X), torch.asarray(y), sample_weight=weights)
        labels = torch.asarray(y.astype(np.float64)).requires_grad_(True)
        with pytest.raises(ValueError, match=r"y\.detach\(\)"):
            make(Estimator).fit(torch.asarray(X), labels)
        # What the message advises works.
        assert_array_equal(model.predict(tracked.detach()), model.predict(torch.asarray(X)))
    with pytest.raises(ValueError, match=r"X\.detach\(\)"):  # also without dispatch
        make(Estimator).fit(tracked, y)


@pytest.mark.parametrize("namespace", NAMESPACES)
@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_io_saves_a_model_fitted_on_another_namespace_as_numpy(namespace, Estimator, tmp_path):
    _, _, to_array = _namespace(namespace)
    X, y = _data()
    with config_context(array_api_dispatch=True):
        model = make(Estimator, max_iter=8, tol=None, random_state=0).fit(to_array(X), to_array(y))
        expected = _numpy(model.predict_proba(to_array(X)))
    save(model, tmp_path / "model.h5")
    restored = load(tmp_path / "model.h5")
    for name in restored._weight_attributes:
        assert all(isinstance(a, np.ndarray) for a in _as_list(getattr(restored, name)))
    assert_allclose(restored.predict_proba(X), expected, rtol=1e-12)
    # And it continues training on NumPy exactly as the model would have.
    continued = make(Estimator, max_iter=8, tol=None, random_state=0, warm_start=True).fit(X, y)
    assert_allclose(
        restored.set_params(warm_start=True).fit(X, y).predict_proba(X),
        continued.fit(X, y).predict_proba(X),
        rtol=1e-10,
    )


# The network's defaults end at max_iter on these 30 samples (a relu network's
# gradient does not vanish at its kinks), on NumPy as on the others.
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("namespace", NAMESPACES)
@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_scikit_learn_checks_with_values(namespace, Estimator):
    # parametrize_with_checks (test_common.py) compares types, shapes and
    # dtypes; this check compares the values of attributes and outputs too.
    _namespace(namespace)
    device = "cpu" if namespace == "torch" else "CPU_DEVICE"
    estimator = Estimator()
    check_array_api_input_and_values(
        Estimator.__name__, estimator, array_namespace=namespace, device_name=device
    )
    check_array_api_input_and_values(
        Estimator.__name__,
        estimator,
        array_namespace=namespace,
        device_name=device,
        check_sample_weight=True,
    )


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_scikit_learn_mixed_inputs_check_on_cpu_devices():
    # The mixed-namespace permutation of scikit-learn's that runs without a GPU.
    _torch(), _strict()
    from sklearn.utils._array_api import NamespaceAndDevice

    for Estimator in ESTIMATORS:
        check_array_api_mixed_inputs(
            Estimator.__name__,
            Estimator(),
            X_ns_and_device=NamespaceAndDevice("array_api_strict", "CPU_DEVICE"),
            other_ns_and_device=NamespaceAndDevice("torch", "cpu"),
            check_values=True,
        )


# ------------------------------------------------------- the operations themselves
def test_numpy_arrays_and_sparse_matrices_get_the_numpy_operations():
    import scipy.sparse as sp

    assert array_ops(np.ones(2), None, sp.csr_matrix(np.eye(2)), [1, 2]) is NUMPY_OPS


@pytest.mark.parametrize("namespace", NAMESPACES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_stable_functions_agree_with_numpy_on_extreme_logits(namespace, dtype):
    xp, _, to_array = _namespace(namespace)
    z = np.array([-1e4, -800.0, -40.0, -1.0, 0.0, 1e-8, 1.0, 40.0, 800.0, 1e4], dtype=dtype)
    ops = array_ops(to_array(z))
    assert ops is not NUMPY_OPS
    # array-api-strict computes with NumPy: any overflow would raise here.
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        for name in ("sigmoid", "log_sigmoid", "softplus"):
            got = _numpy(getattr(ops, name)(to_array(z)))
            expected = getattr(NUMPY_OPS, name)(z)
            assert got.dtype == expected.dtype
            assert np.all(np.isfinite(got)), name
            assert_allclose(got, expected, rtol=4 * np.finfo(dtype).eps, atol=0, err_msg=name)


EXTREME = np.array([-1e4, -800.0, -30.0, 0.0, 30.0, 800.0, 1e4])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softplus_matches_logaddexp_to_a_few_ulps(dtype):
    z = np.concatenate([EXTREME, np.linspace(-50, 50, 10001), [-1e-300, 1e-300]]).astype(dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        got = NUMPY_OPS.softplus(z)
    expected = np.logaddexp(0.0, z.astype(np.float64))
    assert got.dtype == dtype
    ulp = np.spacing(expected.astype(dtype)).astype(np.float64)
    # Against the exact value: float64 within 2 ulps, float32 within 2.4 (where
    # np.logaddexp itself errs by up to 1.2).
    assert np.all(np.abs(got - expected) <= 2.5 * ulp)
    assert got[EXTREME.size - 1] == dtype(1e4) and got[0] == 0.0


@pytest.mark.parametrize("namespace", NAMESPACES)
@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_scikit_learn_callbacks_see_the_epoch_models_in_the_namespace(namespace, Estimator):
    callback = pytest.importorskip(
        "sklearn.callback", reason="scikit-learn < 1.9 has no callback API"
    )
    _, _, to_array = _namespace(namespace)
    X, y = _data()

    def scores(Xs, ys):
        monitor = callback.ScoringMonitor(scoring="accuracy")
        model = make(Estimator, max_iter=4, tol=None)
        model.set_callbacks(monitor)
        model.fit(Xs, ys)
        return [row["accuracy"] for row in monitor.get_logs().data]

    expected = scores(X, y)
    with config_context(array_api_dispatch=True):
        # (scikit-learn's accuracy on torch tensors is a float32 mean)
        assert scores(to_array(X), to_array(y)) == pytest.approx(expected, rel=1e-6)
    assert len(expected) == 5  # the fit's and each epoch's


GRADIENT_CASES = [
    (LogisticRegressionGD, {}),
    (SoftmaxGD, {}),
    *[(ShallowNNClassifier, {"activation": a}) for a in ("tanh", "relu", "sigmoid", "leaky_relu")],
]


@pytest.mark.parametrize("namespace", NAMESPACES)
@pytest.mark.parametrize(
    "Estimator,params", GRADIENT_CASES, ids=lambda v: getattr(v, "__name__", str(v))
)
def test_gradients_equal_numpys_and_finite_differences(namespace, Estimator, params):
    # The objectives' own loss and gradient in the namespace: equal to NumPy's
    # (whose gradients test_gradient_check.py checks everywhere), and to
    # central differences of the namespace's own loss.
    _, _, to_array = _namespace(namespace)
    X, y = _data()
    weights = np.linspace(0.5, 1.5, len(y))
    estimator = make(Estimator, alpha=0.1, **params)
    objective, theta, X64, Y, sw = estimator._gradient_problem(X, y, weights)
    theta = {name: value + 0.1 for name, value in theta.items()}  # off the symmetric start
    loss, grads = objective.loss_grad(theta, X64, Y, sw)
    grads = {name: g.copy() for name, g in grads.items()}

    theta_xp = {name: to_array(value) for name, value in theta.items()}
    data_xp = (to_array(X64), to_array(Y), to_array(sw))
    loss_xp, grads_xp = objective.loss_grad(theta_xp, *data_xp)
    assert loss_xp == pytest.approx(loss, rel=1e-13)
    for name, grad in grads.items():
        assert_allclose(_numpy(grads_xp[name]), grad, rtol=1e-11, atol=1e-14)

    eps = 1e-6
    for name, value in theta.items():
        for index in list(np.ndindex(value.shape))[:4]:
            shifted = []
            for sign in (1, -1):
                moved = {key: array.copy() for key, array in theta.items()}
                moved[name][index] += sign * eps
                moved_xp = {key: to_array(array) for key, array in moved.items()}
                shifted.append(objective.loss(moved_xp, *data_xp))
            numeric = (shifted[0] - shifted[1]) / (2 * eps)
            assert numeric == pytest.approx(grads[name][index], rel=1e-5, abs=1e-8)
