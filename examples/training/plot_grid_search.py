"""
A pipeline tuned by grid search
===============================

sknn's estimators are scikit-learn estimators: they go into a
:class:`~sklearn.pipeline.Pipeline` after a scaler, and
:class:`~sklearn.model_selection.GridSearchCV` tunes them by cross-validation
like any other. Here the network's hidden-layer size and L2 penalty ``alpha``
are tuned on the digits.

Each candidate trains for a fixed budget of 200 full-batch epochs
(``max_iter=200, tol=None``): comparable, quick, and without the
``ConvergenceWarning`` a fit stopped by ``max_iter`` before its stopping test
holds would raise.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sknn import ShallowNNClassifier

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, stratify=y, random_state=0
)

pipeline = make_pipeline(
    StandardScaler(),
    ShallowNNClassifier(max_iter=200, tol=None, random_state=0),
)
grid = {
    "shallownnclassifier__hidden_layer_size": [8, 32, 128],
    "shallownnclassifier__alpha": [1e-4, 1e-2, 1.0],
}
search = GridSearchCV(pipeline, grid, cv=3).fit(X_train, y_train)

print("best parameters:", search.best_params_)
print(f"cross-validated accuracy: {search.best_score_:.3f}")
print(
    "test accuracy of the refitted best pipeline: "
    f"{search.score(X_test, y_test):.3f}"
)
best = search.best_estimator_[-1]
print(f"its fit: {best.n_iter_} epochs, stop_reason_={best.stop_reason_!r}")

# %%
# The scores of the grid
# ----------------------
# Mean cross-validated accuracy for each pair: too strong a penalty
# (``alpha=1``) underfits whatever the size; a few hidden units suffice when
# the penalty is small.
sizes = grid["shallownnclassifier__hidden_layer_size"]
alphas = grid["shallownnclassifier__alpha"]
scores = np.empty((len(alphas), len(sizes)))
for params, score in zip(
    search.cv_results_["params"], search.cv_results_["mean_test_score"]
):
    row = alphas.index(params["shallownnclassifier__alpha"])
    column = sizes.index(params["shallownnclassifier__hidden_layer_size"])
    scores[row, column] = score

fig, ax = plt.subplots(figsize=(5.5, 4))
image = ax.imshow(scores, cmap="viridis", vmin=scores.min(), vmax=1.0)
for (row, column), score in np.ndenumerate(scores):
    ax.text(
        column,
        row,
        f"{score:.3f}",
        ha="center",
        va="center",
        color="white" if score < scores.mean() else "black",
    )
ax.set_xticks(range(len(sizes)), sizes)
ax.set_yticks(range(len(alphas)), [f"{a:g}" for a in alphas])
ax.set(
    xlabel="hidden_layer_size",
    ylabel="alpha",
    title="ShallowNNClassifier on the digits: 3-fold CV accuracy",
)
fig.colorbar(image, ax=ax)
fig.tight_layout()
