"""The sknn benchmark suite: ``python -m benchmarks`` (``--help`` for the options).

Each section module has ``NAME``, ``TITLE`` and ``run(config) -> Section``;
:data:`SECTIONS` lists them in running order.
"""

import os
import sys

# Before anything imports scipy or scikit-learn: scipy reads SCIPY_ARRAY_API once,
# when first imported, and scikit-learn refuses array_api_dispatch (the devices
# section's PyTorch fits) without it. NumPy inputs are unaffected: only the devices
# section turns dispatch on. Once scipy is imported (the suite imported from other
# code) setting it would be too late, and the devices section says so.
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
    for module in (
        vectorization, peers, hardware, devices, scaling, out_of_core, distributed, convergence,
    )
}  # fmt: skip
