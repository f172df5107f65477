"""Parameter and attribute documentation shared by every estimator's docstring."""

import inspect
import textwrap

from .._core.optimizers import OPTIMIZERS

SHARED_PARAMETER_DOCS = """\
max_iter : int, default={max_iter}
        Maximum number of epochs (passes over the data); with ``warm_start``,
        the number of *further* epochs.

    tol : float or None, default={tol}
        {tol_doc}

    n_iter_no_change : int, default=10
        Patience of the loss-improvement rule, in epochs.

    alpha : float, default={alpha}
        L2 penalty: ``alpha / 2 * ||W||^2`` is added to the mean loss. Biases
        are never penalised.

    batch_size : int or None, default=None
        None trains on the full batch (one step per epoch); an int takes one
        step per mini-batch of that many rows.

    shuffle : bool, default=True
        Reshuffle the mini-batches every epoch (ignored for full batch).

    optimizer : {{{optimizer_choices}}}, default='{optimizer}'
        {optimizer_extra}{optimizer_entries}
        See :ref:`optimizers`.

    beta_1 : float, default=0.9
        Momentum coefficient ('momentum', mini-batch 'nesterov'), or Adam's
        first-moment decay.

    beta_2 : float, default=0.999
        Adam's second-moment decay.

    epsilon : float, default=1e-8
        Adam's numerical-stability constant.

    early_stopping : bool, default=False
        Hold out a stratified ``validation_fraction`` of the training data (a
        plain random one for a multilabel y), stop on its loss and keep the
        weights of the epoch where it was lowest. Not supported by ``partial_fit``.

    validation_fraction : float, default=0.1
        Share of the data held out when ``early_stopping`` is on.

    class_weight : dict, 'balanced' or None, default=None
        Weights multiplying ``sample_weight`` per class. 'balanced' makes each
        class weigh the same in total (from the weighted counts). Must be None
        for a multilabel y.

    warm_start : bool, default=False
        Continue from the fitted weights *and* the optimizer's state, so two
        warm fits of a and b epochs equal one fit of a + b epochs.

    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation, the shuffling and the validation split.

    verbose : int, default=0
        Print the loss and the elapsed time every ``verbose`` epochs, and a last
        line with the stop reason and the best loss (0: silent)."""

LINEAR_TOL_DOC = """The stopping tolerance. Full batch: stop once the norm of the gradient
        of the objective J (mean loss plus L2 term) is at most ``tol * J``.
        Mini-batches, and the validation loss under ``early_stopping``: stop
        when the monitored loss has not improved by at least ``tol`` for
        ``n_iter_no_change`` consecutive epochs. None disables stopping:
        exactly ``max_iter`` epochs are run. See :ref:`stopping`."""

NETWORK_TOL_DOC = """The stopping tolerance: stop when the monitored loss (the training
        loss, or the validation loss under ``early_stopping``) has not improved
        by at least ``tol`` for ``n_iter_no_change`` consecutive epochs. None
        disables stopping: exactly ``max_iter`` epochs are run. See :ref:`stopping`."""

SHARED_ATTRIBUTE_DOCS = """\
classes_ : ndarray of shape (n_classes,)
        Class labels; for a multilabel y, the label indices
        ``arange(n_labels)`` (as ``MLPClassifier``).

    multilabel_ : bool
        Whether ``y`` was a multilabel indicator matrix.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Feature names, when X was a DataFrame with string column names.

    n_iter_ : int
        Number of epochs trained in all (warm starts and partial_fit calls
        included).

    loss_curve_ : list of float
        The mean training objective (loss plus L2 term) of each epoch,
        computed in its forward passes.

    validation_loss_curve_ : list of float
        The objective on the validation split after each epoch (only when
        ``early_stopping`` is on).

    best_loss_ : float
        Lowest monitored loss (validation loss with ``early_stopping``).

    stop_reason_ : {'converged', 'stalled', 'max_iter', 'early_stopping', \
'diverged', 'callback', 'interrupted'}
        Why training stopped ('converged': the stopping test of ``tol`` held);
        each value is explained in :ref:`stopping`."""


def shared_parameter_docs(estimator_class, *, tol_doc, optimizer_extra):
    """The shared parameters' docs, with the defaults of ``estimator_class``'s signature."""
    defaults = {
        name: parameter.default
        for name, parameter in inspect.signature(estimator_class.__init__).parameters.items()
    }
    choices = ", ".join(f"'{name}'" for name in ("auto", *OPTIMIZERS))
    entries = "; ".join(f"'{name}' {entry.summary}" for name, entry in OPTIMIZERS.items())
    return SHARED_PARAMETER_DOCS.format(
        **defaults,
        tol_doc=tol_doc,
        optimizer_extra=optimizer_extra,
        optimizer_choices=choices,
        optimizer_entries="\n        ".join(textwrap.wrap(entries + ".", width=70)),
    )
