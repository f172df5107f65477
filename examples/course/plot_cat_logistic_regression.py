"""
Logistic regression on the course's cat images
===============================================

Week 2 of *Neural Networks and Deep Learning* builds a cat classifier as a
single sigmoid unit: flatten each 64x64 RGB image to 12,288 numbers, divide by
255, start from zero weights and take 2,000 steps of plain gradient descent
with learning rate 0.005, printing the cost every 100 steps. This example does
exactly that with :class:`~sknn.LogisticRegressionGD`.

The course's data set is two HDF5 files, ``train_catvnoncat.h5`` (209 images)
and ``test_catvnoncat.h5`` (50 images). sknn does not ship them: point
the environment variable ``SKNN_DATA_DIR`` at the directory that holds them.
Without it (as when the documentation is built in CI) the example runs on a
**generated stand-in** of the same shape, and every title below says so; the
course's figures (cost 0.693147 at step 0, 0.584508 at step 100, 0.140872 at
step 1900, 99% train and 70% test accuracy) hold for the real images only.
"""

# %%
# The data
# --------
# :func:`sknn.datasets.load_h5` reads the course's layout (``train_set_x``,
# ``train_set_y``, ``list_classes``) and flattens each image to one row, as the
# course does with ``reshape``; but in scikit-learn's convention, one example
# per **row** (the course stores one per column).
import os
import textwrap
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from sknn import LogisticRegressionGD
from sknn.datasets import load_h5

COURSE_FILES = ("train_catvnoncat.h5", "test_catvnoncat.h5")


def course_files():
    """The course's two files, if SKNN_DATA_DIR names a directory with them."""
    data_dir = os.environ.get("SKNN_DATA_DIR")
    if not data_dir:
        return None
    paths = [Path(data_dir) / name for name in COURSE_FILES]
    return paths if all(path.is_file() for path in paths) else None


def generated_stand_in(n_train=209, n_test=50, random_state=0):
    """Images of the course's shape and dtype: noise, and "cats" a warm blob.

    Not the course's data: a learnable problem of its size (64x64x3 uint8).
    """
    rng = np.random.default_rng(random_state)
    n = n_train + n_test
    y = (rng.random(n) < 0.35).astype(
        np.int64
    )  # about the course's share of cats
    rows, cols = np.mgrid[0:64, 0:64]
    images = rng.normal(90, 45, size=(n, 64, 64, 3))
    for i in np.flatnonzero(y):
        centre = rng.uniform(20, 44, size=2)
        blob = np.exp(
            -((rows - centre[0]) ** 2 + (cols - centre[1]) ** 2) / 150.0
        )
        images[i] += blob[:, :, None] * np.array([45.0, 22.0, -13.0])
    X = np.clip(images, 0, 255).astype(np.uint8)
    return X[:n_train], y[:n_train], X[n_train:], y[n_train:]


# %%
# The course's files when ``SKNN_DATA_DIR`` names them, else the stand-in;
# ``DATA`` names which, for the titles. A few of the training images:
paths = course_files()
if paths is not None:
    train, test = (load_h5(path) for path in paths)
    images_train = train.data.reshape(-1, *train.feature_shape)
    X_train, y_train, X_test, y_test = (
        train.data,
        train.target,
        test.data,
        test.target,
    )
    DATA = "the course's cat images"
else:
    images_train, y_train, images_test, y_test = generated_stand_in()
    X_train = images_train.reshape(len(images_train), -1)
    X_test = images_test.reshape(len(images_test), -1)
    DATA = "generated stand-in (SKNN_DATA_DIR unset)"

print(f"Data: {DATA}")
print(f"X_train {X_train.shape} {X_train.dtype}, X_test {X_test.shape}")
print(f"cats in the training set: {y_train.sum()} of {len(y_train)}")

fig, axes = plt.subplots(1, 6, figsize=(9, 1.9))
for ax, image, label in zip(axes, images_train, y_train):
    ax.imshow(image)
    ax.set_title("cat" if label == 1 else "non-cat", fontsize=9)
    ax.axis("off")
fig.suptitle(f"First training images: {DATA}", fontsize=10)
fig.tight_layout()

# %%
# Training, as the course writes it
# ---------------------------------
# ``tol=None`` switches stopping off (exactly ``max_iter`` steps) and
# ``alpha=0.0`` the L2 penalty: the course's cost is the plain mean log-loss.
# A numeric ``learning_rate`` means plain full-batch gradient descent at that
# rate, ``w := w - learning_rate * dw``, from zero weights.
# ``loss_curve_[k]`` is the cost computed in the forward pass of step ``k``,
# before its update: the numbers the course prints.
model = LogisticRegressionGD(
    learning_rate=0.005, max_iter=2000, tol=None, alpha=0.0
)
model.fit(X_train / 255, y_train)

for i in range(0, 2000, 100):
    print(f"Cost after iteration {i}: {model.loss_curve_[i]:f}")
print(f"train accuracy: {100 * model.score(X_train / 255, y_train):.0f} %")
print(f"test accuracy: {100 * model.score(X_test / 255, y_test):.0f} %")

# %%
# The learning curve
# ------------------
# The course plots the cost every 100 iterations; ``loss_curve_`` has all.
fig, ax = plt.subplots(figsize=(6, 3.8))
ax.plot(model.loss_curve_, label="every iteration (loss_curve_)")
ax.plot(
    range(0, 2000, 100),
    model.loss_curve_[::100],
    "o",
    label="every 100 (the course)",
)
ax.set(
    xlabel="iteration", ylabel="cost J", title=f"Learning rate 0.005 on {DATA}"
)
ax.title.set_fontsize(10)
ax.legend()
fig.tight_layout()

# %%
# Choosing the learning rate
# --------------------------
# The course's last experiment: the same model with three learning rates. Too
# small and the cost barely moves; larger rates descend faster. The largest one
# overshoots at first: when the cost climbs above twice its starting value,
# sknn goes back to the best weights seen, halves the learning rate and says
# so with a ``ConvergenceWarning`` (the course's loop would keep oscillating).
# The warnings are caught here to print them.
fig, ax = plt.subplots(figsize=(6, 3.8))
for rate in (0.01, 0.001, 0.0001):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = LogisticRegressionGD(
            learning_rate=rate,
            max_iter=1500,
            tol=None,
            alpha=0.0,
        ).fit(X_train / 255, y_train)
    for warning in caught:
        print(f"learning_rate={rate}: {warning.category.__name__}:")
        print(
            textwrap.fill(
                str(warning.message),
                79,
                initial_indent="  ",
                subsequent_indent="  ",
            )
        )
    ax.plot(model.loss_curve_, label=f"learning_rate={rate}")
ax.set(
    xlabel="iteration",
    ylabel="cost J",
    title=f"Three learning rates on {DATA}",
)
ax.title.set_fontsize(10)
ax.legend()
fig.tight_layout()

# %%
# Without choosing a learning rate
# --------------------------------
# The defaults need no learning rate: L-BFGS with a line search, stopped
# when the gradient is small relative to the cost (see
# :doc:`/user_guide/optimizers`).
# They reach the minimum of the same objective, here with the default L2
# penalty ``alpha=1e-4``, in far fewer steps.
default = LogisticRegressionGD().fit(X_train / 255, y_train)
print(
    f"defaults: {default.n_iter_} iterations, "
    f"stop_reason_={default.stop_reason_!r}"
)
print(f"train accuracy: {100 * default.score(X_train / 255, y_train):.0f} %")
print(f"test accuracy: {100 * default.score(X_test / 255, y_test):.0f} %")

# sphinx_gallery_thumbnail_number = 2
