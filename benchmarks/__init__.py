"""The sknn benchmark suite: ``python -m benchmarks`` from the repository root, or from
anywhere with the repository on ``PYTHONPATH``.

Each section module exposes ``NAME``, ``TITLE`` and ``run(config) -> Section``;
:data:`SECTIONS` lists them in the order they run. See ``python -m
benchmarks --help`` for the options.
"""

from . import convergence, distributed, hardware, out_of_core, peers, scaling, vectorization

#: Section name -> module, in running order.
SECTIONS = {
    module.NAME: module
    for module in (vectorization, peers, hardware, scaling, out_of_core, distributed)
}
SECTIONS[convergence.NAME] = convergence
