"""First-order optimizers: small stateful objects with one verb, ``step``.

Parameters and gradients are dicts of arrays with the same keys. ``step``
updates the parameters in place and may overwrite the gradients (they are
scratch space by then), so no step allocates an array of a parameter's size.
Step sizes are kept as Python floats: a NumPy float64 scalar would silently
promote float32 parameters to float64 under NumPy 2's promotion rules.
"""

import math

import numpy as np


class GradientDescent:
    """Plain gradient descent: ``p -= learning_rate * g``."""

    def __init__(self, learning_rate):
        self.learning_rate = learning_rate

    def step(self, params, grads):
        for name, grad in grads.items():
            grad *= -self.learning_rate
            params[name] += grad


class Momentum:
    """Heavy-ball momentum: ``v = beta_1 v - lr g; p += v``."""

    def __init__(self, learning_rate, beta_1):
        self.learning_rate = learning_rate
        self.beta_1 = beta_1
        self.velocities = None

    def step(self, params, grads):
        if self.velocities is None:
            self.velocities = {k: np.zeros_like(p) for k, p in params.items()}
        for name, grad in grads.items():
            velocity = self.velocities[name]
            velocity *= self.beta_1
            grad *= self.learning_rate
            velocity -= grad
            params[name] += velocity


class Adam:
    """Adam (Kingma & Ba, 2015) with bias correction folded into the step size."""

    def __init__(self, learning_rate, beta_1, beta_2, epsilon):
        self.learning_rate = learning_rate
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.t = 0
        self.first_moments = None
        self.second_moments = None

    def step(self, params, grads):
        if self.first_moments is None:
            self.first_moments = {k: np.zeros_like(p) for k, p in params.items()}
            self.second_moments = {k: np.zeros_like(p) for k, p in params.items()}
        self.t += 1
        step_size = float(
            self.learning_rate * math.sqrt(1 - self.beta_2**self.t) / (1 - self.beta_1**self.t)
        )
        for name, grad in grads.items():
            m, v = self.first_moments[name], self.second_moments[name]
            # m = b1 m + (1 - b1) g and v = b2 v + (1 - b2) g^2, rearranged
            # as b (x - y) + y so that no temporary is allocated.
            m -= grad
            m *= self.beta_1
            m += grad
            grad *= grad
            v -= grad
            v *= self.beta_2
            v += grad
            # grad is free now: reuse it for the update.
            np.sqrt(v, out=grad)
            grad += self.epsilon
            np.divide(m, grad, out=grad)
            grad *= step_size
            params[name] -= grad


def make_optimizer(name, learning_rate, beta_1, beta_2, epsilon):
    """Build the optimizer the estimator's ``optimizer`` parameter names."""
    if name == "gd":
        return GradientDescent(learning_rate)
    if name == "momentum":
        return Momentum(learning_rate, beta_1)
    return Adam(learning_rate, beta_1, beta_2, epsilon)
