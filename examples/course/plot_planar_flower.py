"""
A hidden layer on the course's "flower" data
============================================

Week 3 of the course shows what one hidden layer buys. Its data set is a
two-dimensional "flower": 400 points on eight petals, coloured red or blue,
that no straight line can separate. Logistic regression, a linear model, gets
about half of them right; a network with four ``tanh`` hidden units gets about
90%.

This example makes the data as the course does, then trains
:class:`~sknn.LogisticRegressionGD` and
:class:`~sknn.ShallowNNClassifier` on it and draws their decision boundaries.
"""

# %%
# The data set
# ------------
# Two classes of 200 points. Point ``i`` of class ``j`` lies at angle ``t`` (an
# evenly spaced ray in ``[3.12 j, 3.12 (j + 1)]``, plus noise) and radius
# ``r = a sin(4 t)`` (plus noise), with ``a = 4``: the sine draws the petals. A
# ``RandomState(1)`` draws the noise in the course's order, so these are the
# course's 400 points.
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap

from sknn import LogisticRegressionGD, ShallowNNClassifier


def make_flower(m=400, a=4, random_state=1):
    """The course's planar data set: ``m`` points on petals, two classes."""
    rng = np.random.RandomState(random_state)
    n = m // 2
    X = np.zeros((m, 2))
    y = np.zeros(m, dtype=int)
    for j in range(2):
        rows = slice(n * j, n * (j + 1))
        t = (
            np.linspace(j * 3.12, (j + 1) * 3.12, n) + rng.randn(n) * 0.2
        )  # angle
        r = a * np.sin(4 * t) + rng.randn(n) * 0.2  # radius
        X[rows] = np.c_[r * np.sin(t), r * np.cos(t)]
        y[rows] = j
    return X, y


X, y = make_flower()
colours = ListedColormap(["#d62728", "#1f77b4"])

fig, ax = plt.subplots(figsize=(4.5, 4.5))
ax.scatter(X[:, 0], X[:, 1], c=y, cmap=colours, s=12)
ax.set(title="The flower: 400 points, two classes", aspect="equal")
fig.tight_layout()

# %%
# A linear model and a hidden layer
# ---------------------------------
# Both are trained the course's way: plain full-batch gradient descent (a
# numeric ``learning_rate``) for a fixed number of steps (``tol=None``), without L2
# penalty. The network is the course's: four ``tanh`` units, weights drawn as
# ``0.01 * randn`` (``init='normal'``; ``random_state=2`` gives the course's
# initial weights), learning rate 1.2, 10,000 iterations.
logistic = LogisticRegressionGD(
    learning_rate=1.2, max_iter=1000, tol=None, alpha=0.0
).fit(X, y)
network = ShallowNNClassifier(
    hidden_layer_size=4,
    activation="tanh",
    init="normal",
    init_scale=0.01,
    learning_rate=1.2,
    max_iter=10_000,
    tol=None,
    alpha=0.0,
    random_state=2,
).fit(X, y)

print(f"logistic regression: accuracy {100 * logistic.score(X, y):.0f} %")
print(f"4 tanh hidden units: accuracy {100 * network.score(X, y):.0f} %")
for i in range(0, 10_000, 1000):
    print(f"network cost after iteration {i}: {network.loss_curve_[i]:f}")


def plot_boundary(model, ax, title):
    """Colour the plane by the model's prediction, then draw the points."""
    xx, yy = np.meshgrid(
        np.linspace(-4.5, 4.5, 300), np.linspace(-4.5, 4.5, 300)
    )
    grid = np.c_[xx.ravel(), yy.ravel()]
    ax.contourf(
        xx, yy, model.predict(grid).reshape(xx.shape), cmap=colours, alpha=0.25
    )
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap=colours, s=8)
    ax.set(title=title, aspect="equal", xticks=[], yticks=[])


fig, axes = plt.subplots(1, 2, figsize=(8, 4.2))
plot_boundary(
    logistic,
    axes[0],
    f"Logistic regression: {100 * logistic.score(X, y):.0f} %",
)
plot_boundary(
    network, axes[1], f"4 tanh hidden units: {100 * network.score(X, y):.0f} %"
)
fig.tight_layout()

# %%
# How many hidden units?
# ----------------------
# The course's last experiment: the same network with 1 to 50 hidden units.
# One or two units draw too simple a boundary; from three or four on it follows
# the petals; many more units add little here (on held-out data they would
# start to overfit; ``alpha`` counters that). Fewer iterations (5,000) keep
# this example quick.
sizes = (1, 2, 3, 4, 5, 20, 50)
fig, axes = plt.subplots(2, 4, figsize=(10, 5.4))
for ax, size in zip(axes.flat, sizes):
    net = ShallowNNClassifier(
        hidden_layer_size=size,
        activation="tanh",
        init="normal",
        learning_rate=1.2,
        max_iter=5000,
        tol=None,
        alpha=0.0,
        random_state=2,
    ).fit(X, y)
    plot_boundary(
        net,
        ax,
        f"{size} unit{'s' if size > 1 else ''}: {100 * net.score(X, y):.0f} %",
    )
axes.flat[-1].axis("off")
fig.tight_layout()

# sphinx_gallery_thumbnail_number = 2
