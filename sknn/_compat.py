"""The one module that imports scikit-learn's private helpers.

A change in scikit-learn's private API is then a one-file fix. Everything
else in sknn takes these names from here.
"""

from sklearn.base import _fit_context
from sklearn.utils._array_api import (
    _matching_numpy_dtype,
    check_same_namespace,
    get_namespace,
    move_to,
    supported_float_dtypes,
)
from sklearn.utils._param_validation import (
    Interval,
    StrOptions,
    validate_parameter_constraints,
    validate_params,
)
from sklearn.utils.validation import _check_sample_weight

__all__ = [
    "Interval",
    "StrOptions",
    "_check_sample_weight",
    "_fit_context",
    "_matching_numpy_dtype",
    "check_same_namespace",
    "get_namespace",
    "move_to",
    "supported_float_dtypes",
    "validate_parameter_constraints",
    "validate_params",
]
