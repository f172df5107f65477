"""
Online learning on drifting data with ``partial_fit``
=====================================================

``partial_fit(X, y, classes=...)`` trains one epoch on the data it is given
and keeps everything else: the weights, the optimizer's state, the classes. A
model can therefore learn from a stream, one chunk at a time, and keep
adapting when the data changes.

Here the two classes of a stream drift: their centres turn slowly around the
origin, by half a turn over the stream, so a boundary learnt at the start ends
up exactly wrong. Each chunk is first used to *test* the current model (what
it would have predicted), then to train it: the accuracy over the stream is
what a deployed model would have scored.
"""

# %%
# The stream
# ----------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import SGDClassifier

from sknn import LogisticRegressionGD

N_CHUNKS, CHUNK = 80, 100
rng = np.random.default_rng(0)


def chunk_at(step):
    """``CHUNK`` points of two Gaussian classes, their centres turned."""
    angle = np.pi * step / N_CHUNKS  # half a turn over the stream
    centre = 1.5 * np.array([np.cos(angle), np.sin(angle)])
    y = rng.integers(0, 2, CHUNK)
    X = rng.normal(size=(CHUNK, 2)) + np.where(
        y[:, None] == 1, centre, -centre
    )
    return X, y


stream = [chunk_at(step) for step in range(N_CHUNKS)]

# %%
# Three models
# ------------
# - sknn's :class:`~sknn.LogisticRegressionGD`, updated with ``partial_fit`` on
#   every chunk, in mini-batches of 10 (ten steps per chunk);
# - scikit-learn's :class:`~sklearn.linear_model.SGDClassifier` with the same
#   log-loss, updated the same way, as a reference;
# - a frozen copy of sknn's model, trained on the first five chunks only.
online = LogisticRegressionGD(batch_size=10, random_state=0)
sgd = SGDClassifier(loss="log_loss", random_state=0)
frozen = LogisticRegressionGD(random_state=0).fit(
    np.vstack([X for X, _ in stream[:5]]),
    np.concatenate([y for _, y in stream[:5]]),
)

accuracy = {
    "sknn partial_fit": [],
    "SGDClassifier partial_fit": [],
    "frozen after 5 chunks": [],
}
for step, (X, y) in enumerate(stream):
    if step > 0:  # test on the chunk before training on it
        accuracy["sknn partial_fit"].append(online.score(X, y))
        accuracy["SGDClassifier partial_fit"].append(sgd.score(X, y))
        accuracy["frozen after 5 chunks"].append(frozen.score(X, y))
    online.partial_fit(X, y, classes=[0, 1])
    sgd.partial_fit(X, y, classes=[0, 1])

for name, scores in accuracy.items():
    print(
        f"{name:26s} mean accuracy over the stream {np.mean(scores):.3f}, "
        f"last 10 chunks {np.mean(scores[-10:]):.3f}"
    )
print(
    f"sknn: {online.n_iter_} partial_fit epochs, "
    "optimizer state kept between calls"
)

# %%
# Accuracy over the stream
# ------------------------
# The frozen model is right at first, then falls below chance as the classes
# swap sides. The online models follow the drift.
fig, axes = plt.subplots(
    1, 2, figsize=(11, 4), gridspec_kw={"width_ratios": [1.7, 1]}
)
steps = np.arange(1, N_CHUNKS)
for name, scores in accuracy.items():
    axes[0].plot(steps, scores, label=name, lw=1.5)
axes[0].axhline(0.5, color="grey", lw=0.8, ls=":")
axes[0].set(
    xlabel="chunk (each tested before training on it)",
    ylabel="accuracy",
    ylim=(0, 1.02),
    title="Two classes turning by half a turn",
)
axes[0].legend(loc="lower left", fontsize=8)

# The last chunk, and the boundaries of the online and the frozen model.
X, y = stream[-1]
axes[1].scatter(X[:, 0], X[:, 1], c=y, cmap="coolwarm", s=10)
xs = np.linspace(-4, 4, 2)
for model, name, style in (
    (online, "sknn partial_fit", "-"),
    (frozen, "frozen", "--"),
):
    (w1, w2), b = model.coef_[0], model.intercept_[0]
    axes[1].plot(xs, -(b + w1 * xs) / w2, style, color="black", label=name)
axes[1].set(
    xlim=(-4, 4),
    ylim=(-4, 4),
    aspect="equal",
    title="The last chunk and two boundaries",
)
axes[1].legend(loc="lower right", fontsize=8)
fig.tight_layout()
