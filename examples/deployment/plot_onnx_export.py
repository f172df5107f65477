"""
Export to ONNX and predict with onnxruntime
===========================================

`ONNX <https://onnx.ai>`_ is a file format for prediction graphs that runtimes
in many languages execute without Python, scikit-learn or sknn. Importing
:mod:`sknn.onnx` registers converters for the three sknn estimators with
skl2onnx, so that ``skl2onnx.to_onnx`` exports a fitted estimator, or a
pipeline that ends in one.

This example needs the ``onnx`` extra (``pip install "sknn[onnx]"``: skl2onnx,
onnx and onnxruntime). Without it, it says so and draws that message instead.
"""

# %%
# A pipeline to export
# --------------------
# A scaler and a small network on the iris data, in float32: float32 rows
# give a float32 graph (float64 rows a float64 graph).
import importlib.util

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_iris
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sknn import ShallowNNClassifier

iris = load_iris()
X = iris.data.astype(np.float32)
y = iris.target_names[
    iris.target
]  # string labels: the graph returns strings too
pipeline = make_pipeline(
    StandardScaler(),
    ShallowNNClassifier(
        hidden_layer_size=8, max_iter=300, tol=None, random_state=0
    ),
).fit(X, y)

missing = [
    name
    for name in ("skl2onnx", "onnx", "onnxruntime")
    if importlib.util.find_spec(name) is None
]
if missing:
    message = (
        f"Not run: {', '.join(missing)} not installed.\n"
        'Install the extra: pip install "sknn[onnx]"'
    )
    print(message)
    fig, ax = plt.subplots(figsize=(6, 2))
    ax.text(0.5, 0.5, message, ha="center", va="center", fontsize=11)
    ax.axis("off")

# %%
# Export, then run the graph
# --------------------------
# ``{"zipmap": False}`` makes the probabilities one ``(n_samples, n_classes)``
# tensor instead of a list of ``{label: probability}`` maps. The session runs
# the serialised graph: what a C++, C#, Java or JavaScript program would load.
if not missing:
    import onnxruntime
    from skl2onnx import to_onnx

    import sknn.onnx  # noqa: F401 - registers the converters

    onx = to_onnx(pipeline, X[:1], options={"zipmap": False})
    print(
        f"graph: {len(onx.SerializeToString())} bytes, "
        f"inputs {[i.name for i in onx.graph.input]}, "
        f"outputs {[o.name for o in onx.graph.output]}"
    )

    session = onnxruntime.InferenceSession(
        onx.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    labels, proba = session.run(None, {"X": X})
    expected = pipeline.predict_proba(X)
    print("labels identical:", bool((labels == pipeline.predict(X)).all()))
    print(
        f"largest probability difference: {np.abs(proba - expected).max():.2e}"
    )

# %%
# The same probabilities
# ----------------------
# Each of the 150 flowers' three probabilities from onnxruntime against
# ``predict_proba``: on the diagonal, to float32's rounding.
if not missing:
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.8))
    for k, name in enumerate(pipeline.classes_):
        axes[0].scatter(expected[:, k], proba[:, k], s=10, label=name)
    axes[0].plot([0, 1], [0, 1], color="grey", lw=0.8)
    axes[0].set(
        xlabel="predict_proba (sknn)",
        ylabel="onnxruntime",
        title="Probabilities, float32 graph",
    )
    axes[0].legend(fontsize=8)
    axes[1].hist(np.abs(proba - expected).ravel(), bins=30)
    axes[1].set(
        xlabel="|onnxruntime - predict_proba|",
        ylabel="count",
        title="Differences: float32 rounding",
    )
    fig.tight_layout()

# %%
# Which file to write? joblib (a pickle: exact object, loading runs code) for
# caches you write and read yourself; :mod:`sknn.io` for models you share,
# since loading cannot run code and training can continue; ONNX to serve
# predictions where sknn is not installed. See :doc:`/user_guide/persistence`.
