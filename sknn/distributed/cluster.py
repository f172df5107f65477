"""What the distributed modules share: the active Dask client, aligned block arrays."""

import numpy as np


def active_client():
    """The distributed Client that dask.compute would use now, or None."""
    from dask.base import get_scheduler

    client = getattr(get_scheduler(), "__self__", None)
    try:
        from distributed import Client
    except ImportError:
        return None
    return client if isinstance(client, Client) else None


def aligned(array):
    # Copies only arrays that are not aligned to their itemsize.
    return np.require(array, requirements="A") if isinstance(array, np.ndarray) else array
