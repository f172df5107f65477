"""
What vectorization buys
=======================

The course first writes each algorithm with ``for`` loops over the examples
and the features, then removes the loops with ``np.dot``, and shows that a
1,000,000-element dot product gets about 300 times faster. sknn keeps the loop
versions in :mod:`sknn.reference`, written as the course writes them, as the
test oracle of the vectorized estimators and as this baseline.

This example times one gradient-descent iteration both ways, for logistic
regression and for the one-hidden-layer network, on a small generated problem
(the loops are slow: a few iterations are enough). The times are measured when
the documentation is built, on whatever machine builds it.
"""

# %%
# The dot product
# ---------------
# The course's first demonstration: one dot product of two vectors of a
# million numbers, as a Python loop and with ``np.dot``.
import time

import matplotlib.pyplot as plt
import numpy as np

from sknn import LogisticRegressionGD, ShallowNNClassifier
from sknn.reference import logistic_loss_grad, shallow_nn_loss_grad


def best_time(function, repeat=3):
    """The fastest of ``repeat`` calls, in seconds (the least disturbed)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


rng = np.random.default_rng(0)
a, b = rng.random(1_000_000), rng.random(1_000_000)


def loop_dot():
    total = 0.0
    for i in range(len(a)):
        total += a[i] * b[i]
    return total


timings = {
    "dot product\n(10⁶ elements)": (
        best_time(loop_dot, 1),
        best_time(lambda: np.dot(a, b)),
    )
}

# %%
# One iteration of gradient descent
# ---------------------------------
# 500 examples of 200 features. The loop side is
# :func:`sknn.reference.logistic_loss_grad` and
# :func:`sknn.reference.shallow_nn_loss_grad` (the loss and gradient: the
# whole cost of an iteration). The vectorized side is the estimator itself:
# ``fit`` with plain gradient descent for a fixed number of iterations
# (``tol=None``), divided by ``n_iter_``, so it includes everything ``fit``
# does per iteration.
X = rng.normal(size=(500, 200))
y = (X[:, :5].sum(axis=1) > 0).astype(int)
Y = y[:, None].astype(float)

W, w0 = np.zeros((200, 1)), np.zeros(1)
loop_logistic = best_time(lambda: logistic_loss_grad(W, w0, X, Y), 2)
logistic = LogisticRegressionGD(learning_rate=0.1, max_iter=200, tol=None)
vectorized_logistic = best_time(lambda: logistic.fit(X, y)) / 200
timings["logistic regression\n(one iteration)"] = (
    loop_logistic,
    vectorized_logistic,
)

hidden = 16
params = {
    "W1": rng.normal(size=(200, hidden)) * 0.01,
    "b1": np.zeros(hidden),
    "W2": rng.normal(size=(hidden, 1)) * 0.01,
    "b2": np.zeros(1),
}
loop_network = best_time(
    lambda: shallow_nn_loss_grad(params, X, Y, activation="tanh"), 1
)
network = ShallowNNClassifier(
    hidden_layer_size=hidden,
    activation="tanh",
    learning_rate=0.1,
    max_iter=200,
    tol=None,
    random_state=0,
)
vectorized_network = best_time(lambda: network.fit(X, y)) / 200
timings[f"network, {hidden} tanh units\n(one iteration)"] = (
    loop_network,
    vectorized_network,
)

for name, (loops, vectorized) in timings.items():
    print(
        f"{name.replace(chr(10), ' '):45s} loops {loops * 1e3:9.2f} ms   "
        f"vectorized {vectorized * 1e3:7.3f} ms   "
        f"{loops / vectorized:6.0f}x faster"
    )

# %%
# Both sides compute the same numbers: the loops are the oracle the vectorized
# code is tested against, to 1e-10.
loss_loops, grads_loops = logistic_loss_grad(W, w0, X, Y)
print(
    f"loss at zero weights, loops: {loss_loops:.12f} "
    f"(log 2 = {np.log(2):.12f})"
)

# %%
# The figure
# ----------
# A logarithmic axis: the bars differ by two to three orders of magnitude.
fig, ax = plt.subplots(figsize=(7.5, 4))
names = list(timings)
positions = np.arange(len(names))
loops = [timings[name][0] for name in names]
vectorized = [timings[name][1] for name in names]
ax.barh(
    positions + 0.2, loops, height=0.38, label="Python loops (sknn.reference)"
)
ax.barh(
    positions - 0.2, vectorized, height=0.38, label="vectorized NumPy (sknn)"
)
for position, slow, fast in zip(positions, loops, vectorized):
    ax.text(
        slow * 1.15,
        position + 0.2,
        f"{slow / fast:.0f}x",
        va="center",
        fontsize=9,
    )
ax.set_xscale("log")
ax.set_yticks(positions, names)
ax.invert_yaxis()
ax.set_xlabel("seconds (log scale; shorter is faster)")
ax.set_title("Loops against vectorized NumPy, measured at build time")
ax.legend(loc="lower right", fontsize=8)
fig.tight_layout()
