"""What the training core asks of a model and of an optimizer, declared once.

The loop (:func:`sknn._core.loop.train`) trains any :class:`Objective`: a
model is one class with these methods, and nothing else is asked of it (no
method is probed for). Parameters, gradients and optimizer states are plain
data: dicts of named arrays (NumPy's, or of any Array API namespace).
"""

from typing import Any, Callable, Protocol, runtime_checkable

#: Named arrays: the parameters of a model, or a gradient keyed like them.
Params = dict[str, Any]


class Objective(Protocol):
    """A model's mean loss (plus penalty) on data, and its gradient.

    ``X`` is (n_samples, n_features), dense or sparse; ``Y`` the targets
    encoded for the output layer, (n_samples, n_outputs); ``sample_weight``
    (n_samples,) or None. Losses are Python floats; ``loss_grad`` returns new
    gradient arrays, which the caller may keep.
    """

    def param_shapes(self, n_features: int, n_outputs: int) -> dict[str, tuple[int, ...]]:
        """The shape of each parameter."""

    def init_params(self, n_features: int, n_outputs: int, rng, dtype) -> Params:
        """Fresh NumPy parameters, in the memory layout the objective trains fastest in."""

    def as_params(self, arrays: Params, like) -> Params:
        """Private copies of ``arrays``, in the dtype, namespace and device of ``like``
        and in :meth:`init_params`'s memory layout (a continued fit then takes the
        steps an uninterrupted one would: a BLAS product's rounding depends on it)."""

    def logits(self, params: Params, X) -> Any:
        """The output layer's inputs, (n_samples, n_outputs)."""

    def loss(self, params: Params, X, Y, sample_weight) -> float:
        """The objective at ``params``."""

    def loss_grad(self, params: Params, X, Y, sample_weight) -> tuple[float, Params]:
        """The objective at ``params`` and its gradient."""


class Line(Protocol):
    """The objective along ``params + s direction``."""

    def curvature_at_start(self) -> float:
        """Its curvature at ``s = 0``."""

    def at(self, step: float) -> tuple[float, float, float]:
        """Its value, slope and curvature at ``s = step``."""

    def arrive(self, step: float) -> tuple[float, Params]:
        """The objective and its gradient at ``s = step``, the point :meth:`at` evaluated
        last (from what it computed there: equal to ``loss_grad`` to rounding)."""


@runtime_checkable
class ExactLineObjective(Objective, Protocol):
    """An objective that evaluates lines cheaply (affine logits: the linear models).

    With it, conjugate gradient and L-BFGS search each line exactly (Newton's
    method on the line) at about the cost of one gradient.
    """

    def line(self, params: Params, direction: Params, X, Y, sample_weight, start=None) -> Line: ...


@runtime_checkable
class Reparametrised(Objective, Protocol):
    """An objective trained in other coordinates than the model's (the linear
    models' centred ones for L-BFGS and CG): the same models, better conditioned.

    ``kind`` is 'arrays' for parameters and parameter-like state (steps,
    directions) or 'gradients' for gradient-like state; either may hold a
    leading stack axis.
    """

    def to_model(self, params: Params, kind: str) -> Params: ...

    def from_model(self, params: Params, kind: str) -> Params: ...


class Problem(Protocol):
    """The full-batch objective on the training data, as an optimizer's line search sees it."""

    #: ``exact_line(point, direction, start=None) -> Line`` where the objective has
    #: one, else None; ``start`` is the previous line's ``arrival`` when it
    #: arrived at ``point`` (its logits are reused).
    exact_line: Callable | None

    def loss(self, params: Params) -> float: ...

    def loss_grad(self, params: Params) -> tuple[float, Params]: ...


class Optimizer(Protocol):
    """A stateful rule that moves the parameters, one verb: :meth:`step`.

    Its state is plain data (:meth:`get_state`): numbers, and dicts keyed like
    the parameters whose arrays have the parameter's shape, with optional
    leading axes (a stack of L-BFGS pairs); what a warm start, a Ctrl-C
    rollback, a model file and a reparametrised fit carry over.
    """

    #: Its name in the registry (:mod:`sknn._core.optimizers`).
    name: str
    #: The step size (a line search's first trial); the guard may halve it.
    learning_rate: float
    #: True when it can make no more measurable progress (line searches).
    stalled: bool

    def evaluation_point(self, params: Params) -> Params:
        """Where the next gradient is taken (Nesterov: a look-ahead point)."""

    def step(self, params: Params, grads: Params, loss: float, problem: Problem | None):
        """Move ``params`` in place; may overwrite ``grads``.

        ``problem`` is None on mini-batches. Returns ``(loss, grads)`` at the
        new parameters when the step evaluated them there (a line search's
        accepted point), which the loop then uses instead of evaluating
        again; otherwise None.
        """

    def get_state(self) -> dict:
        """The state as a snapshot: arrays that later steps do not change (copies,
        or views of history that the optimizer copies before it rewrites it)."""

    def set_state(self, state: dict) -> None:
        """Take a state over; it may keep the given arrays and write into them."""


class Hooks(Protocol):
    """What the loop tells at epoch boundaries (callbacks, verbose output)."""

    def epoch_begin(self, params: Params) -> None: ...

    def epoch_end(self, epoch: int, loss: float, validation_loss, params: Params) -> bool:
        """Return True to stop training."""
