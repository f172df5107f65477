"""The sknn benchmark suite: ``python -m benchmarks`` (``--help`` for the options).

Each section is a module of this package with ``NAME``, ``TITLE`` and
``run(config) -> Section``; :data:`SECTIONS` lists them in running order.
"""

import importlib
import os
import sys

# Before anything imports scipy or scikit-learn: scipy reads SCIPY_ARRAY_API once,
# when first imported, and scikit-learn refuses array_api_dispatch (the devices
# section's PyTorch fits) without it. NumPy inputs are unaffected: only the devices
# section turns dispatch on. Once scipy is imported (the suite imported from other
# code) setting it would be too late, and the devices section says so.
if "scipy" not in sys.modules and "sklearn" not in sys.modules:
    os.environ.setdefault("SCIPY_ARRAY_API", "1")

#: Section name -> module, in running order; each module has ``NAME``, ``TITLE`` and ``run``.
SECTIONS = {
    name: importlib.import_module(f".{name}", __name__)
    for name in (
        *("vectorization", "peers", "hardware", "devices"),
        *("scaling", "out_of_core", "distributed", "convergence"),
    )
}
