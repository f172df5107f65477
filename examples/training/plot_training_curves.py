"""
Training and validation curves, and early stopping
==================================================

Every sknn estimator records the training loss of each epoch in
``loss_curve_``. With ``early_stopping=True`` it also holds out a stratified
``validation_fraction`` of the training data, records the loss on it in
``validation_loss_curve_``, stops when that loss has not improved by ``tol``
for ``n_iter_no_change`` epochs, and keeps the weights of the best epoch.
:class:`~sknn.TrainingCurveDisplay` draws both curves and marks that epoch.
"""

# %%
# A network that overfits
# -----------------------
# A wide network on few examples, without L2 penalty (``alpha=0``), trained on
# mini-batches with Adam: the training loss keeps falling while the loss on
# held-out data turns up. The digits are scaled to [0, 1].
import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sknn import ShallowNNClassifier, TrainingCurveDisplay

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X / 16, y, train_size=400, stratify=y, random_state=0
)

settings = dict(
    hidden_layer_size=200,
    alpha=0.0,
    optimizer="adam",
    learning_rate=0.003,
    batch_size=32,
    max_iter=150,
    random_state=0,
)
# Without early stopping, a validation split is monitored only when asked for:
# here the "validation" curve of the first model is computed by hand, on the
# test set, to show what early stopping watches.
full = ShallowNNClassifier(**settings, tol=None)
test_losses = []
for epoch in range(settings["max_iter"]):
    full.set_params(max_iter=1, warm_start=epoch > 0)
    full.fit(X_train, y_train)
    test_losses.append(
        -full.predict_log_proba(X_test)[range(len(y_test)), y_test].mean()
    )

early = ShallowNNClassifier(
    **settings,
    early_stopping=True,
    validation_fraction=0.2,
    n_iter_no_change=10,
).fit(X_train, y_train)

print(
    f"without early stopping: {full.n_iter_} epochs, "
    f"test accuracy {full.score(X_test, y_test):.3f}"
)
print(
    f"with early stopping: {early.n_iter_} epochs, "
    f"stop_reason_={early.stop_reason_!r}, "
    f"best validation loss {early.best_loss_:.4f}, "
    f"test accuracy {early.score(X_test, y_test):.3f}"
)

# %%
# The curves
# ----------
# Left: all 150 epochs, with the test loss computed after each one. Right:
# the same settings with ``early_stopping=True``; the vertical line marks the
# epoch whose weights the model keeps (``best_epoch_``).
fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
TrainingCurveDisplay(
    loss_curve=full.loss_curve_, validation_loss_curve=test_losses
).plot(ax=axes[0], log_scale=True)
axes[0].legend(["Training loss", "Test loss (computed by hand)"])
axes[0].set_title("No early stopping: the test loss turns up")
display = TrainingCurveDisplay.from_estimator(
    early, ax=axes[1], log_scale=True
)
axes[1].set_title(f"early_stopping=True: stops at epoch {early.n_iter_}")
fig.tight_layout()
print(f"best epoch: {display.best_epoch_}")

# %%
# Full batch: the stopping test of ``tol``
# ----------------------------------------
# Without a validation split, full-batch training stops on the training loss.
# The linear models stop when the gradient is small relative to the cost,
# ``||grad J|| <= tol * J``: at the minimum, within about 1e-6 with the
# defaults. Two models of the same data, drawn on one Axes with ``name``:
from sklearn.preprocessing import StandardScaler

from sknn import LogisticRegressionGD, SoftmaxGD

X_scaled = StandardScaler().fit_transform(X_train)
fig, ax = plt.subplots(figsize=(6, 4))
for model in (LogisticRegressionGD(), SoftmaxGD()):
    model.fit(X_scaled, y_train)
    TrainingCurveDisplay.from_estimator(
        model, ax=ax, log_scale=True, name=type(model).__name__
    )
    print(
        f"{type(model).__name__}: {model.n_iter_} iterations, "
        f"{model.stop_reason_!r}"
    )
ax.set_title("Default fits of the linear models (full batch, L-BFGS)")
fig.tight_layout()

# sphinx_gallery_thumbnail_number = 1
