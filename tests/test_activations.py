import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

from sknn import ShallowNNClassifier, reference
from sknn._core.activations import ACTIVATIONS
from sknn._core.array_ops import NUMPY_OPS

parametrize_activations = pytest.mark.parametrize("name", sorted(ACTIVATIONS))


@parametrize_activations
def test_activation_derivative_matches_finite_differences(name):
    entry = ACTIVATIONS[name]
    z = np.linspace(-3, 3, 13)
    z = z[np.abs(z) > 1e-3]  # relu kinks at 0
    eps = 1e-6
    numeric = (entry.forward(NUMPY_OPS, z + eps) - entry.forward(NUMPY_OPS, z - eps)) / (2 * eps)
    A = entry.forward(NUMPY_OPS, z.copy())
    delta = np.ones_like(z)
    assert entry.derivative(NUMPY_OPS, A, delta) is delta
    assert_allclose(delta, numeric, rtol=1e-6, atol=1e-9)


@parametrize_activations
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activations_work_in_place_and_keep_dtype(name, dtype):
    entry = ACTIVATIONS[name]
    Z = (np.linspace(-1e4, 1e4, 11)).astype(dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = entry.forward(NUMPY_OPS, Z)
        assert out is Z and out.dtype == dtype
        delta = np.ones_like(Z)
        entry.derivative(NUMPY_OPS, Z, delta)
    assert delta.dtype == dtype and np.all(np.isfinite(delta))


@parametrize_activations
def test_scalar_versions_are_the_vectorized_ones(name):
    # The loop-based network computes with these: the same function, written apart.
    entry = ACTIVATIONS[name]
    z = np.array([-800.0, -3.0, -0.5, 0.0, 0.5, 3.0, 800.0])
    vectorized = entry.forward(NUMPY_OPS, z.copy())
    derivative = entry.derivative(NUMPY_OPS, vectorized.copy(), np.ones_like(z))
    for i, value in enumerate(z):
        a = entry.scalar(float(value))
        assert math.isclose(a, vectorized[i], rel_tol=1e-15, abs_tol=1e-300)
        assert entry.scalar_derivative(float(value), a) == pytest.approx(derivative[i], abs=1e-15)


def test_the_registry_drives_the_network_validation_docs_and_reference():
    constraint = ShallowNNClassifier._parameter_constraints["activation"][0]
    assert set(constraint.options) == set(ACTIVATIONS)
    doc = ShallowNNClassifier.__doc__
    for name, entry in ACTIVATIONS.items():
        assert f"'{name}'" in doc and f"{entry.init} for {name}" in doc
    with pytest.raises(ValueError, match="activation must be one of"):
        reference.shallow_nn_forward({}, np.zeros((1, 1)), activation="swish")


@parametrize_activations
def test_the_registry_drives_the_onnx_graphs(name):
    onnxruntime = pytest.importorskip("onnxruntime", reason="needs the sknn[onnx] extra")
    skl2onnx = pytest.importorskip("skl2onnx", reason="needs the sknn[onnx] extra")
    import sknn.onnx  # noqa: F401  (registers the converters)

    rng = np.random.RandomState(0)
    X = rng.randn(40, 3)
    y = rng.randint(2, size=40)
    model = ShallowNNClassifier(hidden_layer_size=4, activation=name, max_iter=20, tol=None)
    model.fit(X, y)
    onx = skl2onnx.to_onnx(model, X[:1].astype(np.float32), options={"zipmap": False})
    session = onnxruntime.InferenceSession(onx.SerializeToString())
    outputs = session.run(None, {session.get_inputs()[0].name: X.astype(np.float32)})
    assert_allclose(outputs[1], model.predict_proba(X), rtol=1e-4, atol=1e-5)
