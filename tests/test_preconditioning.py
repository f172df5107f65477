"""Conjugate gradient's preconditioners (sknn/_preconditioning.py)."""

import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_breast_cancer, load_digits, load_wine
from sklearn.preprocessing import StandardScaler

from sknn._core.preconditioning import CenteringPreconditioner, SampleSpaceCentering


def _raw(n_samples=50, n_features=6, seed=0, decades=10):
    """Features far from zero mean, of scales spanning ``decades`` orders of magnitude."""
    rng = np.random.RandomState(seed)
    scales = np.logspace(-decades / 2, decades / 2, n_features)
    return (rng.randn(n_samples, n_features) + 3.0) * scales


def _weights(n_samples, seed=0):
    weights = np.random.RandomState(seed).uniform(0, 3, size=n_samples)
    weights[0] = 0.0
    return weights


def _grads(n_features, n_outputs, seed=1, dtype=np.float64):
    rng = np.random.RandomState(seed)
    return {
        "W": rng.randn(n_features, n_outputs).astype(dtype),
        "b": rng.randn(n_outputs).astype(dtype),
    }


def _matrix(preconditioner, n_features, n_outputs):
    """M as an explicit matrix on the gradients flattened as ``[W.ravel(), b]``."""
    size = n_features * n_outputs + n_outputs
    columns = []
    for index in range(size):
        unit = np.zeros(size)
        unit[index] = 1.0
        image = preconditioner(
            {"W": unit[:-n_outputs].reshape(n_features, n_outputs), "b": unit[-n_outputs:]}
        )
        columns.append(np.concatenate([image["W"].ravel(), image["b"]]))
    return np.array(columns).T


def _moments(X, weights):
    X = X.toarray() if sp.issparse(X) else X
    weights = np.full(len(X), 1.0 / len(X)) if weights is None else weights / weights.sum()
    mean = weights @ X
    return mean, weights @ (X - mean) ** 2


@pytest.mark.parametrize("scale", [True, False])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("n_outputs", [1, 3])
def test_the_direct_preconditioner_is_symmetric_positive_definite(scale, weighted, n_outputs):
    # Scales over 4 decades: M's condition number (~1e10 unscaled) stays resolvable.
    X = _raw(decades=4)
    weights = _weights(len(X)) if weighted else None
    preconditioner = CenteringPreconditioner(X, weights, scale=scale)
    assert preconditioner.mean is not None
    assert (preconditioner.scale is not None) == scale
    M = _matrix(preconditioner, X.shape[1], n_outputs)
    assert_allclose(M, M.T, rtol=0, atol=1e-12 * np.abs(M).max())
    assert np.linalg.eigvalsh(0.5 * (M + M.T)).min() > 0


@pytest.mark.parametrize("scale", [True, False])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_the_direct_preconditioner_is_T_T_transposed(scale, weighted):
    # T (v_W, v_b) = (S v_W, v_b - m^T S v_W) for each output, with S^2 the
    # damped scaling 1 / (var + median(var)) (here: raw scales).
    X = _raw(seed=2)
    weights = _weights(len(X)) if weighted else None
    mean, variance = _moments(X, weights)
    n_features, n_outputs = X.shape[1], 2
    S = np.sqrt(1.0 / (variance + np.median(variance))) if scale else 1.0
    T = np.eye(n_features + 1)
    T[:n_features, :n_features] *= S
    T[n_features, :n_features] = -mean * S
    grads = _grads(n_features, n_outputs)
    got = CenteringPreconditioner(X, weights, scale=scale)(grads)
    stacked = np.vstack([grads["W"], grads["b"]])  # one column per output
    expected = T @ (T.T @ stacked)
    assert_allclose(got["W"], expected[:n_features], rtol=1e-12)
    assert_allclose(got["b"], expected[n_features], rtol=1e-12)
    # In the coordinates v of x = T v, the intercept is decoupled from the
    # weights: the off-diagonal block of T^T A^T diag(w) A T, A = [X, 1], is 0.
    w = np.full(len(X), 1.0 / len(X)) if weights is None else weights / weights.sum()
    A = np.hstack([X, np.ones((len(X), 1))]) @ T
    coupling = A[:, :n_features].T @ (w * A[:, n_features])
    assert_allclose(coupling, 0, atol=1e-12 * np.abs(A[:, :n_features]).max())


def test_gradients_are_not_written_to_and_the_result_is_new():
    X = _raw()
    for preconditioner in (
        CenteringPreconditioner(X, None),
        CenteringPreconditioner(StandardScaler().fit_transform(X), None),  # the identity
    ):
        grads = _grads(X.shape[1], 2)
        copies = {name: g.copy() for name, g in grads.items()}
        result = preconditioner(grads)
        for name in grads:
            assert_array_equal(grads[name], copies[name])
            assert not np.shares_memory(result[name], grads[name])


@pytest.mark.parametrize("scale", [True, False])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_sparse_X_gives_the_preconditioner_of_dense_X(scale, weighted):
    X = _raw(n_samples=80, seed=3)
    X[np.random.RandomState(4).rand(*X.shape) < 0.6] = 0.0
    weights = _weights(len(X)) if weighted else None
    dense = CenteringPreconditioner(X, weights, scale=scale)
    for sparse_X in (sp.csr_matrix(X), sp.csc_matrix(X), sp.csr_array(X)):
        sparse = CenteringPreconditioner(sparse_X, weights, scale=scale)
        assert_allclose(_matrix(sparse, 6, 2), _matrix(dense, 6, 2), rtol=1e-10, atol=1e-15)


def _peak_bytes(function):
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_sparse_X_is_not_densified_and_dense_X_is_not_copied():
    n_samples, n_features = 3000, 2000
    rng = np.random.RandomState(0)
    X = sp.random(n_samples, n_features, density=1e-3, format="csr", random_state=rng) + 0.0
    weights = rng.uniform(0, 1, n_samples)
    dense_bytes = n_samples * n_features * 8  # 48 MB
    peak = _peak_bytes(lambda: CenteringPreconditioner(X, weights))
    assert peak < dense_bytes / 50
    # Tall dense X is read by blocks of rows: no copy of the whole of it.
    X = rng.uniform(0, 1, (20_000, 50))  # 8 MB, 10 blocks
    peak = _peak_bytes(lambda: CenteringPreconditioner(X, None))
    assert peak < X.nbytes / 2


@pytest.mark.parametrize("scale", [True, False])
def test_integer_weights_are_repeated_rows(scale):
    X = _raw(n_samples=30, seed=5)
    weights = np.random.RandomState(6).randint(0, 4, size=len(X)).astype(float)
    weights[:2] = 0.0
    repeated = np.repeat(np.arange(len(X)), weights.astype(int))
    weighted = CenteringPreconditioner(X, weights, scale=scale)
    rows = CenteringPreconditioner(X[repeated], None, scale=scale)
    assert_allclose(_matrix(weighted, 6, 2), _matrix(rows, 6, 2), rtol=1e-10, atol=1e-15)


def _digits_pixels():
    return load_digits().data / 16.0


@pytest.mark.parametrize(
    "name, load, scaled",
    [
        ("breast_cancer raw", lambda: load_breast_cancer().data, True),
        ("wine raw", lambda: load_wine().data, True),
        ("synthetic raw", _raw, True),
        ("breast_cancer standardized", lambda: _standardized(load_breast_cancer), False),
        ("wine standardized", lambda: _standardized(load_wine), False),
        ("digits pixels", _digits_pixels, False),
        ("uniform pixels", lambda: np.random.RandomState(0).uniform(0, 1, (200, 64)), False),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_features_are_scaled_only_where_their_scales_differ_widely(name, load, scaled):
    X = load()
    preconditioner = CenteringPreconditioner(X, None)
    assert (preconditioner.scale is not None) == scaled
    assert CenteringPreconditioner(X, None, scale=False).scale is None
    if scaled:
        # Damped Jacobi: 1 / (var + median var), relative to the intercept's 1,
        # so the widest features shrink most and none gets more than 1 / median.
        variance = X.var(axis=0)
        reference = np.median(variance)
        assert_allclose(preconditioner.scale, 1.0 / (variance + reference), rtol=1e-10)
        assert np.argmin(preconditioner.scale) == np.argmax(variance)
        assert np.all((preconditioner.scale > 0) & (preconditioner.scale <= 1.0 / reference))


def _standardized(load):
    return StandardScaler().fit_transform(load().data)


def test_standardized_data_is_left_alone():
    X = _standardized(load_wine)
    preconditioner = CenteringPreconditioner(X, None)
    assert preconditioner.mean is None and preconditioner.scale is None
    grads = _grads(X.shape[1], 3)
    result = preconditioner(grads)
    for name in grads:
        assert_array_equal(result[name], grads[name])


def test_constant_features_and_all_zero_variances():
    X = _raw(seed=7)
    X[:, 2] = 5.0  # no variance: its scale is 1 / median(var), not infinite
    preconditioner = CenteringPreconditioner(X, None)
    assert preconditioner.scale[2] == pytest.approx(1.0 / np.median(X.var(axis=0)), rel=1e-10)
    assert np.isfinite(_matrix(preconditioner, 6, 1)).all()
    constant = CenteringPreconditioner(np.ones((10, 3)), None)
    assert constant.scale is None and constant.mean is not None
    assert np.isfinite(_matrix(constant, 3, 1)).all()


@pytest.mark.parametrize("scale", [True, False])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_from_moments_is_the_constructor(scale, weighted):
    X = _raw(seed=8)
    weights = _weights(len(X)) if weighted else None
    built = CenteringPreconditioner(X, weights, scale=scale)
    from_moments = CenteringPreconditioner.from_moments(*_moments(X, weights), scale=scale)
    assert_allclose(from_moments.mean, built.mean, rtol=1e-13)
    if scale:
        assert_allclose(from_moments.scale, built.scale, rtol=1e-12)
    else:
        assert from_moments.scale is built.scale is None
    assert_allclose(_matrix(from_moments, 6, 2), _matrix(built, 6, 2), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_sample_space_centering_is_the_direct_centering_in_W(weighted, sparse):
    # W = X^T C: a C-space gradient g_C is the W-space gradient X^T g_C, and
    # the centred C-direction maps to the centred W-direction.
    rng = np.random.RandomState(9)
    X = rng.randn(20, 60) + 2.0
    weights = _weights(len(X)) if weighted else None
    X_input = sp.csr_matrix(X) if sparse else X
    gram = X @ X.T
    n_outputs = 3
    grads = {"C": rng.randn(len(X), n_outputs), "b": rng.randn(n_outputs)}
    sample_space = SampleSpaceCentering(gram, weights)(grads)
    direct = CenteringPreconditioner(X_input, weights, scale=False)
    assert direct.mean is not None
    expected = direct({"W": X.T @ grads["C"], "b": grads["b"]})
    assert_allclose(X.T @ sample_space["C"], expected["W"], rtol=1e-12, atol=1e-12)
    assert_allclose(sample_space["b"], expected["b"], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_float32_stays_float32(weighted, sparse):
    X = _raw(seed=10).astype(np.float32)
    weights = _weights(len(X)).astype(np.float32) if weighted else None
    preconditioner = CenteringPreconditioner(sp.csr_matrix(X) if sparse else X, weights)
    assert preconditioner.mean.dtype == preconditioner.scale.dtype == np.float32
    grads = _grads(6, 2, dtype=np.float32)
    result = preconditioner(grads)
    assert result["W"].dtype == result["b"].dtype == np.float32
    expected = CenteringPreconditioner(X.astype(np.float64), weights)(_grads(6, 2))
    for name in grads:
        assert_allclose(result[name], expected[name], rtol=1e-4, atol=1e-6)
    gram = (X @ X.T)[:20, :20]
    sample_space = SampleSpaceCentering(gram, None if weights is None else weights[:20])
    result = sample_space({"C": grads["W"][:1].repeat(20, axis=0), "b": grads["b"]})
    assert result["C"].dtype == result["b"].dtype == np.float32


def test_array_api_strict_input():
    strict = pytest.importorskip(
        "array_api_strict",
        reason="array-api-strict is not installed (pip install array-api-strict)",
    )
    device = strict.Device("CPU_DEVICE")

    def to_strict(array):
        return strict.asarray(array, device=device)

    X = _raw(seed=11)
    weights = _weights(len(X))
    grads = _grads(6, 2)
    strict_grads = {name: to_strict(g) for name, g in grads.items()}
    for scale in (True, False):
        expected = CenteringPreconditioner(X, weights, scale=scale)(grads)
        for sample_weight in (to_strict(weights), None):
            preconditioner = CenteringPreconditioner(to_strict(X), sample_weight, scale=scale)
            result = preconditioner(strict_grads)
            if sample_weight is None:
                expected_here = CenteringPreconditioner(X, None, scale=scale)(grads)
            else:
                expected_here = expected
            for name in grads:
                assert isinstance(result[name], type(strict_grads[name]))
                assert_allclose(np.asarray(result[name]), expected_here[name], rtol=1e-12)
    gram = X @ X.T
    expected = SampleSpaceCentering(gram, weights)({"C": gram[:, :2], "b": grads["b"]})
    result = SampleSpaceCentering(to_strict(gram), to_strict(weights))(
        {"C": to_strict(gram[:, :2]), "b": strict_grads["b"]}
    )
    for name in expected:
        assert_allclose(np.asarray(result[name]), expected[name], rtol=1e-12)
