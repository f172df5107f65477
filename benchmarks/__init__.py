"""The sknn benchmark suite: ``python -m benchmarks`` from the repository root, or from
anywhere with the repository on ``PYTHONPATH``.

Each section module exposes ``NAME``, ``TITLE`` and ``run(config) -> Section``;
:data:`SECTIONS` lists them in the order they run. See ``python -m
benchmarks --help`` for the options.
"""

import os
import sys

# Before anything imports scipy or scikit-learn: scipy reads SCIPY_ARRAY_API once, on its
# first import, and scikit-learn refuses array_api_dispatch (the devices section's
# PyTorch fits) without it. It changes nothing for NumPy inputs: no section but devices
# turns array_api_dispatch on. A value the user set is kept; once scipy is imported (the
# benchmarks imported from other code) setting it would be too late for scipy and would
# only mislead scikit-learn, so it is left alone and the devices section says why it
# cannot run.
if "scipy" not in sys.modules and "sklearn" not in sys.modules:
    os.environ.setdefault("SCIPY_ARRAY_API", "1")

from . import (  # noqa: E402 - after the environment variable above
    convergence,
    devices,
    distributed,
    hardware,
    out_of_core,
    peers,
    scaling,
    vectorization,
)

#: Section name -> module, in running order.
SECTIONS = {
    module.NAME: module
    for module in (vectorization, peers, hardware, devices, scaling, out_of_core, distributed)
}
SECTIONS[convergence.NAME] = convergence
