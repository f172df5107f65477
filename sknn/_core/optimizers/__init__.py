"""The optimizers and their registry: one entry per optimizer drives everything else.

An entry gives the optimizer's class, the estimator hyperparameters it reads,
whether it needs the full batch, and a sentence for the docstrings. The
estimators take their allowed names, their checks of ignored
hyperparameters and the ``optimizer`` entry of their docstrings from here;
model files (:mod:`sknn.io`) check a saved state with the class's own
``set_state``. Adding an optimizer is its class and one entry.
"""

import inspect
from dataclasses import dataclass

from .first_order import Adam, GradientDescent, Momentum, Nesterov
from .lbfgs import LimitedMemoryBFGS
from .line_search import ConjugateGradient


@dataclass(frozen=True)
class OptimizerEntry:
    """What the estimators need to know of an optimizer."""

    cls: type
    #: The estimator hyperparameters it uses; a call that sets another one warns.
    hyperparameters: tuple
    #: Whether it needs one function to minimise (refused with ``batch_size``).
    full_batch_only: bool
    #: One sentence for the ``optimizer`` entry of the docstrings.
    summary: str
    #: Whether it scales each coordinate's step on its own (Adam): a step size
    #: from the loss's curvature (1/L) then means nothing, 'auto' is a fixed
    #: small rate, and its steps do not stay in X's row space.
    per_coordinate: bool = False
    #: Those of ``hyperparameters`` it ignores on the full batch.
    mini_batch_only: tuple = ()

    def uses(self, full_batch):
        """The estimator hyperparameters it uses on the full batch, or on mini-batches."""
        ignored = self.mini_batch_only if full_batch else ()
        return tuple(name for name in self.hyperparameters if name not in ignored)

    def build(self, **settings):
        """An optimizer of this kind, given what its constructor takes of ``settings``.

        ``settings`` are the estimator's ``learning_rate`` (a float), ``beta_1``,
        ``beta_2``, ``epsilon``, and ``full_batch`` and ``line_search`` (bools);
        any not given takes its default.
        """
        settings = {**_DEFAULT_SETTINGS, **settings}
        accepted = inspect.signature(self.cls).parameters
        return self.cls(**{name: value for name, value in settings.items() if name in accepted})


# What build takes for a setting not given (the estimators' defaults).
_DEFAULT_SETTINGS = {
    "learning_rate": 1.0,
    "beta_1": 0.9,
    "beta_2": 0.999,
    "epsilon": 1e-8,
    "full_batch": True,
    "line_search": False,
}


OPTIMIZERS = {
    "gd": OptimizerEntry(
        GradientDescent,
        ("learning_rate",),
        False,
        "plain gradient descent (with a number as ``learning_rate`` and the full batch, the "
        "course's algorithm)",
    ),
    "momentum": OptimizerEntry(
        Momentum, ("learning_rate", "beta_1"), False, "heavy-ball momentum ``beta_1``"
    ),
    "nesterov": OptimizerEntry(
        Nesterov,
        ("learning_rate", "beta_1"),
        False,
        "Nesterov's accelerated gradient: on the full batch FISTA's momentum with adaptive "
        "restart and, with ``learning_rate='auto'``, a backtracking line search; on "
        "mini-batches Nesterov momentum ``beta_1`` with a fixed step",
        mini_batch_only=("beta_1",),  # FISTA's own momentum sequence on the full batch
    ),
    "adam": OptimizerEntry(
        Adam, ("learning_rate", "beta_1", "beta_2", "epsilon"), False, "Adam", per_coordinate=True
    ),
    "cg": OptimizerEntry(
        ConjugateGradient,
        (),
        True,
        "nonlinear conjugate gradient (Polak-Ribiere+) with a strong Wolfe line search: no "
        "learning rate to tune (a number is only its first trial step)",
    ),
    "lbfgs": OptimizerEntry(
        LimitedMemoryBFGS,
        (),
        True,
        "limited-memory BFGS (the last 100 steps and gradient changes shape the direction) "
        "with a strong Wolfe line search: no learning rate to tune",
    ),
}
