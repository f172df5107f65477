"""Training data as fit, partial_fit and check_gradient see it: one preparation path.

:class:`DataPreparationMixin` gives the estimators ``_prepare`` (validation of X
and y, labels, sample and class weights) and the validation split; the
module's functions check what no estimator parameter changes.
"""

import numpy as np
import scipy.sparse as sp
from sklearn.model_selection import train_test_split
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import column_or_1d, validate_data

from .._compat import _check_sample_weight, supported_float_dtypes
from .._core.array_ops import NUMPY_OPS, array_ops, input_ops
from .._core.batches import weighted_rows
from .._core.spectrum import squared_sums

ACCEPTED_SPARSE = ["csr", "csc"]
_ACCEPTED_DTYPES = [np.float64, np.float32]


class TrainingData:
    """Validated training data: X, class indices, effective weights and the classes.

    ``y`` and ``user_sample_weight`` are the labels and the weights as the user
    gave them (validated): what callbacks are shown. Rows of weight 0 stay in
    every array (X is never copied); they count for nothing, and their labels
    play no part in ``classes`` (their ``y_index`` is 0).
    For a multilabel ``y`` (``multilabel`` True), ``y`` and ``y_index`` are its
    dense 0/1 indicator matrix and ``classes`` the label (column) indices.
    """

    def __init__(
        self, X, y, y_index, sample_weight, user_sample_weight, classes, multilabel, problem=None
    ):
        self.X, self.y, self.y_index, self.classes = X, y, y_index, classes
        self.sample_weight, self.user_sample_weight = sample_weight, user_sample_weight
        self.multilabel = multilabel
        # The full-batch objective evaluated elsewhere (Dask workers), or None.
        self.problem = problem


class DataPreparationMixin:
    """``_prepare`` and the validation split, for :class:`sknn._estimator.base.BaseGDClassifier`."""

    def _prepare(self, X, y, sample_weight, *, reset, known_classes=None, dtype=None):
        """The one data-preparation path of fit, partial_fit and check_gradient.

        Validates X and y (``reset`` as in ``validate_data``), the labels
        (against ``known_classes`` when given, else at least two of them) and
        the weights; rows of weight 0 count as absent (kept in place). A
        multilabel indicator y has the classes ``arange(n_labels)``. X keeps
        its Array API namespace and device, and so do the weights returned;
        labels and weights are validated on the host (labels may be strings).
        """
        for name, array in (("X", X), ("y", y), ("sample_weight", sample_weight)):
            check_input_kind(array, name)
        ops = input_ops(X)
        if not ops.is_numpy:
            y, sample_weight = host(y), host(sample_weight)
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=ACCEPTED_SPARSE,
            dtype=accepted_dtypes(ops, X) if dtype is None else dtype,
            reset=reset,
            multi_output=True,  # keeps a 2-D or sparse y for _validate_targets
        )
        y, multilabel = self._validate_targets(y)
        if multilabel and self.class_weight is not None:
            raise ValueError(
                f"class_weight={self.class_weight!r} is not supported with a multilabel "
                "y: a class weight weighs each row by its one class, and a row of an "
                "indicator matrix has several labels (or none). Weight the rows with "
                "sample_weight instead."
            )
        dtype = ops.numpy_dtype(X.dtype)
        sample_weight, rows = check_rows(X, sample_weight)
        kept_y = y if rows is None else y[rows]
        if multilabel:
            classes, y_index = np.arange(y.shape[1]), y
            if known_classes is not None and not np.array_equal(known_classes, classes):
                raise ValueError(
                    f"A multilabel indicator y with {y.shape[1]} columns has the classes "
                    f"(label indices) {classes!r}, not {np.asarray(known_classes)!r}: pass "
                    "classes=np.arange(n_labels) on the first call to partial_fit and "
                    "give every chunk the same label columns."
                )
        elif known_classes is None:
            classes = np.unique(kept_y)
            check_at_least_two(classes)
        else:
            classes = known_classes
            check_labels_known(kept_y, classes)
        if not multilabel:
            y_index = np.searchsorted(classes, kept_y)
            if rows is not None:
                # Any class will do for a row of weight 0; its label may be unknown.
                kept_index, y_index = y_index, np.zeros(len(y), dtype=y_index.dtype)
                y_index[rows] = kept_index
        effective_weight = self._effective_weights(classes, y_index, sample_weight, dtype)
        check_total_weight(effective_weight, len(kept_y))
        if effective_weight is not None:
            effective_weight = ops.asarray(effective_weight, like=X)
        return TrainingData(X, y, y_index, effective_weight, sample_weight, classes, multilabel)

    def _validate_targets(self, y):
        """``(y, multilabel)``: 1-D class labels, or a dense 0/1 indicator matrix and True.

        ``y`` is as ``validate_data(multi_output=True)`` leaves it: possibly
        2-D or sparse. A sparse indicator is densified: the targets the loss
        needs are a dense (n_samples, n_labels) array anyway, as the logits are.
        """
        if y.ndim == 2 and y.shape[1] == 1:
            # A column vector is 1-D labels, with scikit-learn's DataConversionWarning.
            y = column_or_1d(y.toarray() if sp.issparse(y) else y, warn=True)
        check_classification_targets(y)
        if y.ndim == 1:
            return y, False
        name = type(self).__name__
        if not self._supports_multilabel:
            raise ValueError(
                f"{name} does not support a 2-D y (got shape {y.shape}): a softmax "
                "picks exactly one class per sample. For multilabel y (an indicator "
                "matrix) use LogisticRegressionGD or ShallowNNClassifier, whose sigmoid "
                "outputs are independent labels."
            )
        y_type = type_of_target(y, input_name="y")
        if y_type != "multilabel-indicator":
            raise ValueError(
                f"{name} takes 1-D class labels or a multilabel indicator matrix; got "
                f"a 2-D y of type {y_type!r}. For several multiclass outputs use "
                "sklearn.multioutput.MultiOutputClassifier."
            )
        indicator = y.toarray() if sp.issparse(y) else np.asarray(y)
        values = np.unique(indicator)
        if not np.isin(values, (0, 1)).all():
            # type_of_target also calls {0, 2} or {-1, 1} an indicator; the
            # positive label would be a guess.
            raise ValueError(
                f"A multilabel indicator y holds only 0 and 1 (or booleans); got the "
                f"values {values!r}."
            )
        return indicator, True

    def _check_target_kind(self, multilabel, continuation):
        """Refuse y of the other kind (1-D labels or indicator) than the fit continued."""
        fitted = self._fitted_multilabel()
        if multilabel != fitted:
            kinds = ("1-D class labels", "a multilabel indicator matrix")
            raise ValueError(
                f"This {type(self).__name__} was fitted on {kinds[fitted]}, and y is now "
                f"{kinds[multilabel]}: {continuation} continues a fit, so y must be "
                "of the same kind. Fit a new estimator (or with warm_start=False)."
            )

    def _effective_weights(self, classes, y_index, sample_weight, dtype):
        """Sample weights times class weights; None when all would be one."""
        if self.class_weight is None:
            return sample_weight
        base = np.ones(len(y_index), dtype=dtype) if sample_weight is None else sample_weight
        # Weighted class totals, so that weight k still equals k repeated rows.
        totals = np.bincount(y_index, weights=base, minlength=len(classes))
        return class_weighted(base, self._class_weights(classes, totals, base.sum()), y_index)

    def _class_weights(self, classes, class_totals, total_weight):
        """The float64 factor of each class (``class_weight`` not None), from the
        classes' sample-weight sums and their total ('balanced'); a method of its
        own for data whose totals are summed elsewhere (over a Dask array's blocks)."""
        n_classes = len(classes)
        per_class = np.ones(n_classes)
        if self.class_weight == "balanced":
            present = class_totals > 0
            per_class[present] = total_weight / (present.sum() * class_totals[present])
            return per_class
        for label, weight in self.class_weight.items():
            matches = np.flatnonzero(classes == label)
            if matches.size == 0:
                raise ValueError(
                    f"class_weight has label {label!r}, which is not among the classes {classes!r}."
                )
            per_class[matches[0]] = weight
        if np.any(per_class < 0) or not np.all(np.isfinite(per_class)):
            raise ValueError(
                f"class_weight must be finite and non-negative, got {self.class_weight!r}."
            )
        return per_class

    def _split_validation(self, X, strata, sample_weight, user_sample_weight, rng):
        """Hold out a ``validation_fraction`` of the rows of positive user weight,
        stratified by ``strata`` (each row's class index; None: a plain split).

        Returns ``(sw_train, val_rows, sw_val)``, weights in X's namespace: the
        training part stays in X as ``sample_weight`` (None: ones) set to 0 off
        its rows; the held-out rows of positive weight, in order, and theirs.
        """
        rows = weighted_rows(user_sample_weight)
        candidates = np.arange(X.shape[0]) if rows is None else rows
        if strata is not None and rows is not None:
            strata = strata[rows]
        try:
            train_rows, val_rows = train_test_split(
                candidates,
                test_size=self.validation_fraction,
                stratify=strata,
                random_state=rng,
            )
        except ValueError as error:
            kind = "a" if strata is None else "a stratified"
            raise ValueError(
                f"early_stopping could not hold out {kind} validation split "
                f"(validation_fraction={self.validation_fraction}): {error}"
            ) from error
        ops = array_ops(X)
        weight = host(sample_weight)
        if weight is None:
            weight = np.ones(X.shape[0], dtype=ops.numpy_dtype(X.dtype))
        train_weight = np.zeros_like(weight)
        train_weight[train_rows] = weight[train_rows]
        check_total_weight(train_weight, len(train_rows))
        check_total_weight(weight[val_rows], len(val_rows))
        val_rows = np.sort(val_rows[weight[val_rows] > 0])  # class weights may zero some
        return ops.asarray(train_weight, like=X), val_rows, ops.asarray(weight[val_rows], like=X)


def accepted_dtypes(ops, X):
    """The float dtypes X is trained in as it is (others become the first).

    float64 and float32 of the namespace of ``ops``, as far as X's device
    has them (some GPUs have no float64).
    """
    if ops.is_numpy:
        return _ACCEPTED_DTYPES
    supported = supported_float_dtypes(ops.xp, X.device)
    return [dtype for dtype in (ops.xp.float64, ops.xp.float32) if dtype in supported]


def check_input_kind(array, name):
    """Refuse complex input and tensors autograd tracks, with a ValueError naming ``name``.

    The one check of fit, partial_fit and prediction, before validation: its
    conversion of a complex tensor drops the imaginary part (with only a
    warning), and its ``numpy()`` of a tensor that requires grad fails inside
    the tensor library.
    """
    if getattr(array, "requires_grad", False) is True:
        # Detaching cuts the tensor from the caller's autograd graph: their decision.
        raise ValueError(
            f"{name} is a tensor that requires grad. sknn computes without autograd "
            f"and does not detach input for you: pass {name}.detach() (the same "
            "values, cut from the autograd graph) if that is what you mean."
        )
    if _is_complex(array):
        raise ValueError(
            f"Complex data not supported: {name} has the complex dtype {array.dtype}. "
            "The models are real-valued and a conversion would drop the imaginary "
            f"part; pass the part you mean, e.g. {name}.real or abs({name})."
        )


def _is_complex(array):
    dtype = getattr(array, "dtype", None)
    if dtype is None:  # lists, DataFrames: scikit-learn's validation refuses complex ones
        return False
    kind = getattr(dtype, "kind", None)  # NumPy's and pandas' dtypes; the Array API's have none
    if isinstance(kind, str):
        return kind == "c"
    ops = array_ops(array)
    return not ops.is_numpy and bool(ops.xp.isdtype(dtype, "complex floating"))


def class_weighted(sample_weight, per_class, y_index):
    """Each row's weight times its class's factor, in the weights' dtype."""
    return sample_weight * per_class.astype(sample_weight.dtype)[y_index]


def check_at_least_two(classes):
    if len(classes) < 2:
        raise ValueError(
            "This solver needs samples of at least 2 classes in the data, but "
            f"the data contains only one class: {classes[0]!r}."
        )


def check_labels_known(y, classes):
    unknown = np.setdiff1d(y, classes)
    if unknown.size:
        raise ValueError(f"y contains labels {unknown!r} that are not in classes {classes!r}.")


def check_rows(X, sample_weight, *, allow_all_zero_weights=False):
    """The checks of the rows of fit and of each block of a Dask fit: X not too large
    for finite products, weights non-negative, finite, one per row (a block's may
    all be zero: ``allow_all_zero_weights``).

    Returns ``(sample_weight, rows)``: the weights as a NumPy array (the class
    weights multiply them on the host) or None, and the index of the rows of
    positive weight, None when that is all of them.
    """
    check_magnitude(X)
    if sample_weight is None:
        return None, None
    sample_weight = host(
        _check_sample_weight(
            sample_weight,
            X,
            dtype=X.dtype,
            ensure_non_negative=True,
            allow_all_zero_weights=allow_all_zero_weights,
        )
    )
    return sample_weight, weighted_rows(sample_weight)


def scaling_advice(X):
    """Advice to standardize X when its columns' scales differ widely or are large, else ''.

    Gradient descent on features of very different scales zig-zags along the
    small ones: standardizing them is the cheapest cure for slow training.
    """
    rms = np.sqrt(squared_sums(X, axis=0) / max(X.shape[0], 1))
    rms = rms[rms > 0]
    if rms.size == 0 or (rms.max() <= 100 * rms.min() and rms.max() <= 100):
        return ""
    return (
        f"The features' scales differ widely (root mean squares from {rms.min():.3g} to "
        f"{rms.max():.3g}): standardize them, e.g. with sklearn.preprocessing.StandardScaler "
        "in a Pipeline, and training needs far fewer epochs."
    )


def check_magnitude(X):
    """Refuse finite values so large that the model's products would overflow.

    Beyond the square root of the dtype's largest number, a product with a
    weight of the same size is inf, and inf - inf is NaN downstream.
    """
    values = X.data if sp.issparse(X) else X
    if 0 in values.shape:
        return
    xp = array_ops(values).xp
    largest = max(float(xp.max(values)), -float(xp.min(values)))
    limit = float(np.sqrt(xp.finfo(X.dtype).max))
    if largest > limit:
        raise ValueError(
            f"X has values as large as {largest:.3g} in magnitude, too large for the "
            f"products of this model to stay finite in {X.dtype} (the limit is "
            f"{limit:.3g}). Scale the data first, e.g. with "
            "sklearn.preprocessing.StandardScaler."
        )


def check_total_weight(sample_weight, n_samples):
    """Refuse weights that cannot be normalised: all zero, or a sum that overflows."""
    if n_samples == 0:
        raise ValueError("No samples with a positive weight are left to train on.")
    if sample_weight is None:
        return
    xp = array_ops(sample_weight).xp
    with np.errstate(over="ignore"):
        # In the training dtype, where the loss will sum them.
        total = float(xp.sum(sample_weight))
    if not np.isfinite(total):
        raise ValueError(
            "The sample weights (times class weights) sum to more than the largest "
            "float: rescale them, only their ratios matter."
        )
    if total <= 0:
        raise ValueError(
            "Every sample has weight 0 once class weights are applied: nothing to "
            "train on. Check sample_weight and class_weight."
        )


def encode_targets(y_index, n_outputs, like):
    """Targets as the output layer sees them: one 0/1 column, or one-hot rows.

    In the dtype, namespace and device of ``like`` (the training X). A 2-D
    ``y_index`` is a multilabel indicator matrix, already the targets.
    Fortran order keeps each class's column contiguous, matching the network's
    transposed output layer, where the loss then runs along contiguous memory.
    """
    ops = array_ops(like)
    dtype = ops.numpy_dtype(like.dtype)
    if y_index.ndim == 2:
        Y = np.asfortranarray(y_index, dtype=dtype)
    elif n_outputs == 1:
        Y = (y_index == 1).astype(dtype)[:, None]
    else:
        Y = np.zeros((len(y_index), n_outputs), dtype=dtype, order="F")
        Y[np.arange(len(y_index)), y_index] = 1
    return ops.asarray(Y, like=like)


def host(array):
    """An Array API array (labels, weights) as a NumPy array; anything else as it is."""
    ops = array_ops(array)
    return array if ops is NUMPY_OPS else ops.to_numpy(array)
