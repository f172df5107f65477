"""
PyTorch tensors through the Array API
=====================================

Under scikit-learn's ``array_api_dispatch``, the sknn estimators train and
predict on any `Array API <https://data-apis.org/array-api/latest/>`_ array:
PyTorch tensors or CuPy arrays, on the device where they live (a GPU
included). The fitted weights are tensors on that device, and so is what
``predict_proba`` returns.

Two things must be in place:

- the environment variable ``SCIPY_ARRAY_API=1``, set **before** scipy or
  scikit-learn is first imported (scipy reads it once). In a script, set it in
  the shell (``SCIPY_ARRAY_API=1 python script.py``) or first thing, before any
  import of scipy or scikit-learn. The documentation build sets it in
  ``docs/conf.py``, since its examples all run in one process;
- PyTorch (``pip install torch``: no sknn extra installs it).

Without either, this example says so and draws that message instead.
"""

# %%
import importlib.util
import os

import matplotlib.pyplot as plt
import numpy as np
from sklearn import config_context
from sklearn.datasets import make_classification

from sknn import ShallowNNClassifier

problems = []
if importlib.util.find_spec("torch") is None:
    problems.append("PyTorch is not installed (pip install torch)")
if os.environ.get("SCIPY_ARRAY_API") != "1":
    problems.append("SCIPY_ARRAY_API=1 was not set before scipy was imported")
if problems:
    message = "Not run: " + ";\n".join(problems)
    print(message)
    fig, ax = plt.subplots(figsize=(7, 2))
    ax.text(0.5, 0.5, message, ha="center", va="center", fontsize=11)
    ax.axis("off")

# %%
# Fit on tensors
# --------------
# The same data as a NumPy array and as a float64 tensor on the CPU (or the GPU
# when there is one). Inside ``config_context(array_api_dispatch=True)`` the
# estimator computes with PyTorch.
X, y = make_classification(
    n_samples=2_000, n_features=30, n_informative=8, random_state=0
)
if not problems:
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    X_torch = torch.asarray(X, device=device)
    y_torch = torch.asarray(y, device=device)

    settings = dict(
        hidden_layer_size=32, max_iter=100, tol=None, random_state=0
    )
    with config_context(array_api_dispatch=True):
        net_torch = ShallowNNClassifier(**settings).fit(X_torch, y_torch)
        proba_torch = net_torch.predict_proba(X_torch)
    net_numpy = ShallowNNClassifier(**settings).fit(X, y)

    print(f"device: {device}")
    print(
        f"coefs_[0]: {type(net_torch.coefs_[0]).__name__} "
        f"on {net_torch.coefs_[0].device}"
    )
    print(
        f"predict_proba: {type(proba_torch).__name__} "
        f"of shape {tuple(proba_torch.shape)}"
    )
    difference = np.abs(
        proba_torch.cpu().numpy() - net_numpy.predict_proba(X)
    ).max()
    print(
        "largest difference from the NumPy fit's probabilities: "
        f"{difference:.1e}"
    )

# %%
# The same training
# -----------------
# The fit on tensors is the NumPy fit: the same seed draws the same initial
# weights, and in float64 the loss curves agree to about 1e-10.
if not problems:
    fig, ax = plt.subplots(figsize=(6, 3.8))
    ax.semilogy(net_numpy.loss_curve_, lw=4, alpha=0.4, label="NumPy arrays")
    ax.semilogy(
        net_torch.loss_curve_, "k--", lw=1, label=f"PyTorch tensors ({device})"
    )
    ax.set(
        xlabel="epoch",
        ylabel="training objective",
        title="ShallowNNClassifier, 100 full-batch epochs",
    )
    ax.legend()
    fig.tight_layout()

# %%
# To predict on NumPy data with a model fitted on tensors, or the reverse, move
# the model first: predicting with arrays of another namespace or device
# raises a ``ValueError`` that says how. See :doc:`/user_guide/array_api`.
