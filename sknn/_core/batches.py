"""Mini-batches for the training loop: views of X, or the rows it draws."""

import numpy as np

from .array_ops import array_ops


def weighted_rows(sample_weight):
    """The index of the rows of positive weight (NumPy), or None when all rows have one.

    Rows of weight 0 stay in X, where they add nothing to a weighted loss:
    mini-batches are drawn from the others only, without a copy of X.
    """
    if sample_weight is None:
        return None
    ops = array_ops(sample_weight)
    positive = np.asarray(ops.to_numpy(sample_weight) > 0)
    return None if positive.all() else np.flatnonzero(positive)


def n_training_rows(X, sample_weight):
    """The number of rows a fit trains on: those of positive weight."""
    rows = weighted_rows(sample_weight)
    return X.shape[0] if rows is None else len(rows)


class Batches:
    """Iterate over ``(X_batch, Y_batch, sample_weight_batch, batch_weight)``.

    Full batch yields X itself, rows of weight 0 included. Mini-batches hold
    only rows of positive weight (see :func:`weighted_rows`). Unshuffled dense
    mini-batches of X without rows of weight 0 are views; others are copies
    of their rows, so an epoch never copies X as a whole.
    """

    def __init__(self, X, Y, sample_weight, batch_size, shuffle, rng):
        self.X, self.Y, self.sample_weight = X, Y, sample_weight
        self.rows = weighted_rows(sample_weight)
        n_samples = n_training_rows(X, sample_weight)
        self.batch_size = n_samples if batch_size is None else min(batch_size, n_samples)
        self.full_batch = self.batch_size == n_samples
        self.shuffle = shuffle and self.batch_size < n_samples
        self.rng = rng

    def __iter__(self):
        n_samples = self.X.shape[0] if self.rows is None else len(self.rows)
        if self.batch_size == n_samples:
            # Full batch: X itself (slicing a sparse matrix would copy it).
            yield (
                self.X,
                self.Y,
                self.sample_weight,
                self._batch_weight(self.sample_weight, n_samples),
            )
            return
        order = self.rng.permutation(n_samples) if self.shuffle else None
        ops = array_ops(self.X, self.Y)
        for start in range(0, n_samples, self.batch_size):
            stop = min(start + self.batch_size, n_samples)
            sw_batch = None
            if order is None and self.rows is None:
                rows = slice(start, stop)
                X_batch, Y_batch = ops.slice_rows(self.X, rows), ops.slice_rows(self.Y, rows)
                if self.sample_weight is not None:
                    sw_batch = self.sample_weight[rows]
            else:
                rows = np.arange(start, stop) if order is None else order[start:stop]
                if self.rows is not None:
                    rows = self.rows[rows]
                X_batch, Y_batch = ops.take_rows(self.X, rows), ops.take_rows(self.Y, rows)
                if self.sample_weight is not None:
                    sw_batch = ops.take_rows(self.sample_weight, rows)
            yield X_batch, Y_batch, sw_batch, self._batch_weight(sw_batch, stop - start)

    @staticmethod
    def _batch_weight(sw_batch, size):
        return float(size) if sw_batch is None else float(array_ops(sw_batch).sum(sw_batch))
