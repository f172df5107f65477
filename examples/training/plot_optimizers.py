"""
Comparing the optimizers
========================

All sknn estimators minimise an objective ``J``: the mean log-loss plus the L2
term ``alpha / 2 * ||W||^2``. The ``optimizer`` parameter picks how. For the
linear models that objective is convex with one minimum ``J*``, so the
optimizers can be compared by how close each gets to it, step by step: the
relative gap ``(J - J*) / J*``.

- ``'gd'``: plain gradient descent, the course's algorithm; with
  ``learning_rate='auto'`` the fixed step ``1/L`` from the curvature bound
  ``L``.
- ``'momentum'``: heavy-ball momentum on the same step.
- ``'nesterov'``: Nesterov's accelerated gradient with a line search.
- ``'adam'``: Adam, step 0.01.
- ``'cg'``: nonlinear conjugate gradient, with an exact line search (the
  linear models' logits are affine in the weights: Newton's method on the
  line).
- ``'lbfgs'``: limited-memory BFGS with the same line search, the linear
  models' default (``optimizer='auto'`` on the full batch); the network
  takes both on the full batch too, with a strong-Wolfe line search.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.preprocessing import StandardScaler

from sknn import LogisticRegressionGD

X, y = load_breast_cancer(return_X_y=True)
X = StandardScaler().fit_transform(X)

# The minimum, to far below the gaps plotted: L-BFGS with a very small tol.
J_star = (
    LogisticRegressionGD(tol=1e-12, max_iter=10_000).fit(X, y).loss_curve_[-1]
)

# %%
# Up to 300 iterations of each, with ``tol=None`` so that the stopping test
# does not end them early (the line-search methods still stop, as 'stalled',
# where no step can lower the loss any more at float64's precision). One
# iteration is one full-batch step; a line search may evaluate the loss a few
# times within it.
gaps = {}
for optimizer in ("gd", "momentum", "nesterov", "adam", "cg", "lbfgs"):
    model = LogisticRegressionGD(
        optimizer=optimizer, max_iter=300, tol=None
    ).fit(X, y)
    gaps[optimizer] = (np.array(model.loss_curve_) - J_star) / J_star
    reached = np.flatnonzero(gaps[optimizer] < 1e-6)
    print(
        f"{optimizer:9s} {model.n_iter_:3d} iterations "
        f"({model.stop_reason_}), "
        f"final gap {max(gaps[optimizer][-1], 0):.1e}, "
        f"gap 1e-6 at iteration {reached[0] if reached.size else 'never'}"
    )

fig, ax = plt.subplots(figsize=(6.5, 4.2))
for optimizer, gap in gaps.items():
    ax.semilogy(np.maximum(gap, 1e-16), label=optimizer)
ax.axhline(1e-6, color="grey", lw=0.8, ls=":")
ax.set(
    xlabel="iteration",
    ylabel="(J - J*) / J*",
    ylim=(1e-16, 10),
    title="LogisticRegressionGD on breast_cancer (standardized)",
)
ax.legend(ncols=2, fontsize=8)
fig.tight_layout()

# %%
# With the defaults
# -----------------
# The default fit (L-BFGS, ``tol=1e-5``) stops when ``||grad J|| <= tol * J``,
# the relative stationarity test, and reports ``stop_reason_='converged'``.
default = LogisticRegressionGD().fit(X, y)
gap = (default.loss_curve_[-1] - J_star) / J_star
print(
    f"defaults: {default.n_iter_} iterations, {default.stop_reason_!r}, "
    f"gap {gap:.1e}"
)
