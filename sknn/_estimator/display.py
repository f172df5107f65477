"""Training curves, in scikit-learn's Display style."""

import numpy as np
from sklearn.utils.validation import check_is_fitted


class TrainingCurveDisplay:
    """Training and validation loss per epoch, with the best epoch marked.

    Build it with :meth:`from_estimator`, or from the curves themselves and
    then call :meth:`plot`. Needs matplotlib, imported only when plotting.

    Read more in the :ref:`User Guide <training-curves>`.

    Parameters
    ----------
    loss_curve : array-like of shape (n_epochs,)
        Training loss per epoch, e.g. an estimator's ``loss_curve_``; its k-th
        value is drawn at epoch k + 1.
    validation_loss_curve : array-like of shape (n_validation_epochs,), default=None
        Validation loss per epoch, e.g. ``validation_loss_curve_``, drawn at
        epochs 1, 2, ... like the training loss.
    name : str, default=None
        Appended to the legend labels, to tell several models apart on one
        Axes.

    Attributes
    ----------
    ax_ : matplotlib Axes
        The Axes drawn on.
    figure_ : matplotlib Figure
        The figure holding ``ax_``.
    lines_ : list of matplotlib Line2D
        The training loss line, then the validation loss line if there is one.
    best_epoch_ : int or None
        The epoch with the lowest monitored loss: the validation loss when
        there is one (what early stopping keeps), else the training loss.
        None for an empty curve.
    best_epoch_line_ : matplotlib Line2D or None
        The vertical line marking ``best_epoch_``.

    See Also
    --------
    sklearn.model_selection.LearningCurveDisplay : Scores against the training set size.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import make_classification
    >>> from sknn import SoftmaxGD, TrainingCurveDisplay
    >>> X, y = make_classification(random_state=0)
    >>> model = SoftmaxGD(early_stopping=True, random_state=0).fit(X, y)
    >>> display = TrainingCurveDisplay.from_estimator(model, log_scale=True)
    >>> [line.get_label() for line in display.lines_]
    ['Training loss', 'Validation loss']
    >>> display.best_epoch_ == 1 + model.validation_loss_curve_.index(model.best_loss_)
    True
    """

    def __init__(self, *, loss_curve, validation_loss_curve=None, name=None):
        self.loss_curve = loss_curve
        self.validation_loss_curve = validation_loss_curve
        self.name = name

    def plot(
        self, ax=None, *, log_scale: bool = False, name: str | None = None, **kwargs
    ) -> "TrainingCurveDisplay":
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Where to draw; None makes a new figure.
        log_scale : bool, default=False
            Show the loss on a logarithmic axis, where the slow late descent
            stays visible.
        name : str, default=None
            Overrides the ``name`` given at construction.
        **kwargs : dict
            Passed to matplotlib's ``plot`` for both curves.

        Returns
        -------
        TrainingCurveDisplay
            This object, with the attributes that hold the drawn artists.
        """
        try:
            import matplotlib.pyplot as plt
        except ImportError as error:
            raise ImportError(
                "TrainingCurveDisplay needs matplotlib to plot; install it, e.g. with "
                "`pip install matplotlib`."
            ) from error
        if ax is None:
            _, ax = plt.subplots()
        name = self.name if name is None else name
        suffix = "" if name is None else f" ({name})"

        curves = [("Training loss", np.asarray(self.loss_curve, dtype=float))]
        if self.validation_loss_curve is not None:
            curves.append(("Validation loss", np.asarray(self.validation_loss_curve, dtype=float)))
        self.lines_ = [
            ax.plot(np.arange(1, len(curve) + 1), curve, label=label + suffix, **kwargs)[0]
            for label, curve in curves
        ]

        # The curve that decides which weights are kept: the last one drawn.
        monitored = curves[-1][1]
        self.best_epoch_ = None
        self.best_epoch_line_ = None
        if monitored.size:
            self.best_epoch_ = int(np.argmin(monitored)) + 1
            self.best_epoch_line_ = ax.axvline(
                self.best_epoch_,
                linestyle=":",
                color=self.lines_[-1].get_color(),
                label=f"Best epoch: {self.best_epoch_}{suffix}",
            )

        if log_scale:
            ax.set_yscale("log")
        ax.set_xlabel("Epoch")
        ax.set_ylabel("Loss")
        ax.legend()
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_estimator(
        cls, estimator, *, ax=None, log_scale: bool = False, name: str | None = None, **kwargs
    ) -> "TrainingCurveDisplay":
        """Draw the loss curves a fitted estimator recorded.

        Parameters
        ----------
        estimator : estimator instance
            Fitted, with a ``loss_curve_`` and, when it monitored a validation
            split, a ``validation_loss_curve_`` (any sknn estimator;
            scikit-learn's MLPClassifier too, without validation loss).
        ax : matplotlib Axes, default=None
            Where to draw; None makes a new figure.
        log_scale : bool, default=False
            Show the loss on a logarithmic axis.
        name : str, default=None
            Appended to the legend labels.
        **kwargs : dict
            Passed to matplotlib's ``plot`` for both curves.

        Returns
        -------
        TrainingCurveDisplay
            The display, its curves drawn.
        """
        check_is_fitted(estimator)
        if not hasattr(estimator, "loss_curve_"):
            raise ValueError(
                f"{type(estimator).__name__} has no loss_curve_ to plot: it does not "
                "record its loss per epoch."
            )
        display = cls(
            loss_curve=estimator.loss_curve_,
            validation_loss_curve=getattr(estimator, "validation_loss_curve_", None),
            name=name,
        )
        return display.plot(ax=ax, log_scale=log_scale, **kwargs)
