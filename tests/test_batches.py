import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_array_equal

from sknn._core.batches import Batches


def _data(n_samples=40, n_features=3, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n_samples, n_features)
    y = (X @ rng.randn(n_features) + 0.5 * rng.randn(n_samples) > 0).astype(float)
    return X, y[:, None]


@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("batch_size", [1, 3, 10, None])
@pytest.mark.parametrize("layout", ["C", "F", "sparse"])
def test_batches_cover_every_row_once_per_epoch(shuffle, batch_size, layout):
    n = 10
    sparse = layout == "sparse"
    X = np.arange(n, dtype=float)[:, None] * np.ones((1, 2))
    X = sp.csr_matrix(X) if sparse else np.asarray(X, order=layout)
    # Two-column targets in Fortran order, as the estimators encode them.
    Y = np.asfortranarray(np.arange(n, dtype=float)[:, None] * np.ones((1, 2)))
    weights = np.arange(n, dtype=float) + 1
    batches = Batches(X, Y, weights, batch_size, shuffle, np.random.RandomState(0))
    for _ in range(2):
        seen = []
        for X_batch, Y_batch, sw_batch, batch_weight in batches:
            dense = X_batch.toarray() if sparse else X_batch
            assert_array_equal(dense[:, 0], Y_batch[:, 0])
            assert_array_equal(sw_batch, Y_batch[:, 0] + 1)
            assert batch_weight == sw_batch.sum()
            seen.extend(Y_batch[:, 0].tolist())
        assert sorted(seen) == list(range(n))


def test_full_batch_is_x_itself_and_unshuffled_batches_are_views():
    X, Y = _data(n_samples=10)
    full = list(Batches(X, Y, None, None, True, np.random.RandomState(0)))
    assert len(full) == 1 and full[0][0] is X and full[0][2] is None
    unshuffled = next(iter(Batches(X, Y, None, 4, False, None)))[0]
    assert np.shares_memory(unshuffled, X)


def test_shuffle_order_changes_between_epochs_but_is_reproducible():
    X, Y = _data(n_samples=12)

    def orders(seed):
        batches = Batches(X, Y, None, 4, True, np.random.RandomState(seed))
        return [np.concatenate([b[1][:, 0].copy() for b in batches]) for _ in range(2)]

    a, b = orders(0), orders(0)
    assert_array_equal(a[0], b[0]) and assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], a[1])
