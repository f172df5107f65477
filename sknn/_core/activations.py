"""The network's hidden activations and their registry: each is declared once, here.

An entry gives what every user of an activation needs: the vectorized
function and derivative the network trains with, their scalar versions the
loop-based network (:mod:`sknn.reference`) computes with, the ONNX nodes
:mod:`sknn.onnx` writes, and the weight initialisation 'auto' picks. The
network's allowed values and its docstring read the registry's names.
Adding an activation is its functions and one entry.

The vectorized functions work in place (NumPy) and return their result. A
derivative takes the activation's *output* A (so the pre-activations need
not be kept), multiplies the incoming gradient ``delta`` by g'(z) in place
and returns it; it may overwrite A, which backprop no longer needs by then,
so the hot loop allocates no (n_samples, n_hidden) arrays.
"""

import math
from dataclasses import dataclass
from typing import Callable

#: leaky_relu's slope for z < 0: ``max(z, LEAKY_SLOPE z)``.
LEAKY_SLOPE = 0.01


@dataclass(frozen=True)
class Activation:
    """One hidden activation, as every part of sknn computes or writes it."""

    #: ``forward(ops, Z)``: g(Z), in place.
    forward: Callable
    #: ``derivative(ops, A, delta)``: delta * g'(z) from A = g(z), in place.
    derivative: Callable
    #: ``scalar(z)``: g(z) of a Python float.
    scalar: Callable
    #: ``scalar_derivative(z, a)``: g'(z) of Python floats, given a = g(z).
    scalar_derivative: Callable
    #: ``onnx(graph, h)``: the output name of g(h) in an ONNX graph (``graph.node``,
    #: ``graph.const``: see sknn.onnx).
    onnx: Callable
    #: The initialisation ``init='auto'`` picks: 'xavier' keeps tanh and sigmoid
    #: units out of their flat regions, 'he' compensates for relu zeroing half its inputs.
    init: str


def _scalar_sigmoid(z):
    # Two branches: exp never overflows.
    if z >= 0.0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def _tanh_derivative(ops, A, delta):
    A *= A
    A = ops.subtract(1.0, A, out=A)
    delta *= A
    return delta


def _relu_derivative(ops, A, delta):
    delta *= ops.positive_mask(A, out=A)
    return delta


def _leaky_relu_derivative(ops, A, delta):
    # 1 where z > 0, else the slope (the value at z = 0 is a convention).
    A = ops.positive_mask(A, out=A)
    A *= 1.0 - LEAKY_SLOPE
    A += LEAKY_SLOPE
    delta *= A
    return delta


def _sigmoid_derivative(ops, A, delta):
    delta *= A
    A = ops.subtract(1.0, A, out=A)
    delta *= A
    return delta


def _onnx_leaky_relu(graph, h):
    # max(z, slope z) with the slope in the graph's dtype: LeakyRelu's alpha is a
    # float32 attribute, off by 2e-8 relative in float64.
    return graph.node("Max", [h, graph.node("Mul", [h, graph.const(LEAKY_SLOPE)])])


ACTIVATIONS = {
    "tanh": Activation(
        forward=lambda ops, Z: ops.tanh(Z, out=Z),
        derivative=_tanh_derivative,
        scalar=math.tanh,
        scalar_derivative=lambda z, a: 1.0 - a * a,
        onnx=lambda graph, h: graph.node("Tanh", [h]),
        init="xavier",
    ),
    "relu": Activation(
        forward=lambda ops, Z: ops.maximum(Z, 0.0, out=Z),
        derivative=_relu_derivative,
        scalar=lambda z: z if z > 0.0 else 0.0,
        scalar_derivative=lambda z, a: 1.0 if z > 0.0 else 0.0,
        onnx=lambda graph, h: graph.node("Relu", [h]),
        init="he",
    ),
    "leaky_relu": Activation(
        # max(slope z, z) keeps the sign of z: the derivative is read off A.
        forward=lambda ops, Z: ops.maximum(Z, Z * LEAKY_SLOPE, out=Z),
        derivative=_leaky_relu_derivative,
        scalar=lambda z: z if z > 0.0 else LEAKY_SLOPE * z,
        scalar_derivative=lambda z, a: 1.0 if z > 0.0 else LEAKY_SLOPE,
        onnx=_onnx_leaky_relu,
        init="he",
    ),
    "sigmoid": Activation(
        forward=lambda ops, Z: ops.sigmoid(Z, out=Z),
        derivative=_sigmoid_derivative,
        scalar=_scalar_sigmoid,
        scalar_derivative=lambda z, a: a * (1.0 - a),
        onnx=lambda graph, h: graph.node("Sigmoid", [h]),
        init="xavier",
    ),
}
