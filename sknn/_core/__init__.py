"""The training core: the loop, the optimizers, the numerical functions and array operations.

It knows no estimator: a model reaches it as an objective (see
:mod:`sknn._core.protocols`), and the estimators (:mod:`sknn._estimator`)
build on it, never the reverse.
"""
