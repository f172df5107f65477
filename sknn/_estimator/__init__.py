"""What the three estimators share: fit and partial_fit, data preparation, fitted state,
predictions, callbacks and docstring parts. Built on :mod:`sknn._core`.
"""
