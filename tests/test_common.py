"""scikit-learn's common estimator checks, for every sknn estimator.

Nothing is skipped or expected to fail. CI runs with pandas installed and
SCIPY_ARRAY_API=1 so that no check skips itself either.
"""

import pytest
from sklearn.utils.estimator_checks import (
    check_dataframe_column_names_consistency,
    check_inplace_ensure_writeable,
    check_param_validation,
    parametrize_with_checks,
)

from sknn import LogisticRegressionGD, ShallowNNClassifier, SoftmaxGD

ESTIMATORS = [LogisticRegressionGD(), SoftmaxGD(), ShallowNNClassifier()]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


@pytest.mark.parametrize(
    "public_check",
    [
        check_param_validation,
        check_dataframe_column_names_consistency,
        check_inplace_ensure_writeable,
    ],
)
@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda est: type(est).__name__)
def test_checks_not_run_by_check_estimator(public_check, estimator):
    public_check(type(estimator).__name__, estimator)
