"""
Model files that are safe to load, and training that resumes
============================================================

:func:`sknn.io.save` writes a fitted estimator to one HDF5 file of arrays and
plain values, with a checksum; :func:`sknn.io.load` checks the file before it
reads it and cannot run code, unlike a joblib or pickle file. The file also
holds the training state (the optimizer's, the random generator's), so a model
loaded from it goes on training exactly as the saved one would have.

This example trains a network for 30 epochs, saves it, loads it in place of
the original, trains 30 more, and compares with 60 epochs in one go. Then it
damages a copy of the file and shows that ``load`` refuses it.
"""

# %%
import os
import tempfile

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler

import sknn.io
from sknn import ShallowNNClassifier

X, y = load_digits(return_X_y=True)
X = StandardScaler().fit_transform(X)
settings = dict(
    hidden_layer_size=32,
    optimizer="adam",
    batch_size=64,
    max_iter=30,
    tol=None,
    warm_start=True,
    random_state=0,
)

# 60 epochs in one go: two warm fits of 30.
reference = ShallowNNClassifier(**settings).fit(X, y).fit(X, y)

# 30 epochs, a file, then 30 more epochs on the model loaded from it.
directory = tempfile.TemporaryDirectory()
path = os.path.join(directory.name, "digits-net.h5")
first_half = ShallowNNClassifier(**settings).fit(X, y)
sknn.io.save(first_half, path)
restored = sknn.io.load(path)
restored.fit(X, y)

print(f"file: {os.path.getsize(path)} bytes")
print(f"epochs: reference {reference.n_iter_}, resumed {restored.n_iter_}")
print(
    "same weights after 60 epochs:",
    all(
        np.array_equal(a, b) for a, b in zip(reference.coefs_, restored.coefs_)
    ),
)
print(
    "same loss curve:",
    np.array_equal(reference.loss_curve_, restored.loss_curve_),
)

# %%
# A damaged file is refused
# -------------------------
# One byte of the copy is changed, inside an array's data. ``load`` finds the
# layout intact but the checksum wrong, and raises a ``ValueError`` naming the
# file, before the estimator sees any of it.
damaged = os.path.join(directory.name, "damaged.h5")
with open(path, "rb") as file:
    data = bytearray(file.read())
# The first stored loss, a float64 in the loss curve's data.
position = data.find(np.float64(first_half.loss_curve_[0]).tobytes())
data[position if position >= 0 else len(data) // 2] ^= 0xFF
with open(damaged, "wb") as file:
    file.write(data)
try:
    sknn.io.load(damaged)
except ValueError as error:
    message = str(error).replace(directory.name, "<tmp>")
    print(f"ValueError: {message[:300]}")
directory.cleanup()

# %%
# The two trainings
# -----------------
# The resumed model's loss curve, continued from the file, lies on the
# reference's: the optimizer's moments and the shuffling generator came back
# with the weights.
fig, ax = plt.subplots(figsize=(6, 3.8))
ax.semilogy(
    reference.loss_curve_, lw=4, alpha=0.4, label="60 epochs in one go"
)
ax.semilogy(
    range(30, 60),
    restored.loss_curve_[30:],
    "k--",
    lw=1.2,
    label="30 epochs, saved, loaded, 30 more",
)
ax.axvline(30, color="grey", lw=0.8, ls=":")
ax.set(
    xlabel="epoch",
    ylabel="training loss",
    title="ShallowNNClassifier on the digits, Adam, mini-batches",
)
ax.legend()
fig.tight_layout()
