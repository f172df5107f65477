"""Offline links to other projects' API pages, in place of intersphinx.

The documentation builds without network access, so intersphinx cannot fetch
the inventories of scikit-learn, NumPy, SciPy or the standard library. This
extension resolves the references to them that Sphinx cannot resolve itself
(``missing-reference``) from the names alone:

- the name must import (``sklearn.pipeline.Pipeline``, ``numpy.ndarray``,
  ``KeyboardInterrupt``...): a misspelt or removed name stays unresolved, and
  the nitpicky build (``-n -W``) fails on it as on a broken internal link
  (names of an optional package that is not installed cannot be checked);
- the link follows the project's URL scheme for its API pages. Projects
  without a stable scheme (Dask, skl2onnx, PyTorch...) get the name as code,
  unlinked, once it imports.

References to ``sknn`` itself are never touched here: they must resolve
within this documentation.
"""

import builtins
import importlib
import importlib.util
import inspect

from docutils import nodes

# Top-level package -> function(full name, object kind) -> URL, or None: name only.
_SKLEARN = "https://scikit-learn.org/stable"
_NUMPY = "https://numpy.org/doc/stable/reference/generated"
_SCIPY = "https://docs.scipy.org/doc/scipy/reference"
_PYTHON = "https://docs.python.org/3/library"


def _sklearn_url(name, kind):
    if kind == "module":
        return f"{_SKLEARN}/api/{name}.html"
    if kind == "member":
        owner = name.rsplit(".", 1)[0]
        return f"{_SKLEARN}/modules/generated/{owner}.html#{name}"
    return f"{_SKLEARN}/modules/generated/{name}.html"


def _numpy_url(name, kind):
    if kind == "module":
        return None
    return f"{_NUMPY}/{name}.html"


def _scipy_url(name, kind):
    if kind == "module":
        return f"{_SCIPY}/{name.split('.', 1)[-1].replace('.', '/')}.html"
    if kind == "member":
        return None
    return f"{_SCIPY}/generated/{name}.html"


def _python_url(name, kind):
    if kind == "module":
        return f"{_PYTHON}/{name}.html"
    if kind == "builtin-exception":
        return f"{_PYTHON}/exceptions.html#{name}"
    if kind == "builtin":
        return f"{_PYTHON}/functions.html#{name}"
    return None


LINKED = {"sklearn": _sklearn_url, "numpy": _numpy_url, "scipy": _scipy_url}
UNLINKED = {
    "dask",
    "dask_ml",
    "distributed",
    "h5py",
    "joblib",
    "matplotlib",
    "onnx",
    "onnxruntime",
    "skl2onnx",
    "torch",
}
STDLIB = {"math", "pickle", "tracemalloc", "multiprocessing", "logging", "warnings", "os"}


def _resolve(name):
    """``(object, kind)`` for an importable dotted name, else None.

    kind is 'module', 'member' (an attribute of a class), 'object' (anything
    else in a module), 'builtin' or 'builtin-exception'.
    """
    parts = name.split(".")
    if len(parts) == 1 and hasattr(builtins, name):
        obj = getattr(builtins, name)
        is_exception = inspect.isclass(obj) and issubclass(obj, BaseException)
        return obj, "builtin-exception" if is_exception else "builtin"
    for split in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        parent = None
        for attribute in parts[split:]:
            parent, obj = obj, getattr(obj, attribute, _MISSING)
            if obj is _MISSING:
                return None
        if inspect.ismodule(obj):
            return obj, "module"
        return obj, "member" if inspect.isclass(parent) else "object"
    return None


_MISSING = object()


def _from_installed_package(node):
    """Whether ``node`` comes from a docstring of an installed package (an inherited method)."""
    source = node.source or ""
    return "site-packages" in source or "dist-packages" in source


def _sknn_reexport(app, env, node, contnode):
    """Resolve a re-exported sknn name to the page where the object is documented.

    ``:class:`LazyH5Dataset``` in :mod:`sknn.distributed` names the class that
    :mod:`sknn.datasets` defines and this documentation describes as
    ``sknn.datasets.LazyH5Dataset``. Only names that import, from the module of
    the docstring or absolutely, and whose object has a page are resolved.
    """
    target = node.get("reftarget", "").lstrip("~.")
    module = node.get("py:module") or ""
    domain = env.domains["py"]
    documented = {}
    for name, _, _, _, _, _ in domain.get_objects():
        if name.startswith("sknn."):
            resolved = _resolve(name)
            if resolved is not None:
                documented.setdefault(id(resolved[0]), name)
    for candidate in ([f"{module}.{target}"] if module else []) + [target]:
        resolved = _resolve(candidate)
        if resolved is None or not candidate.startswith("sknn."):
            continue
        canonical = documented.get(id(resolved[0]))
        if canonical is not None and canonical != candidate:
            return domain.resolve_xref(
                env, node["refdoc"], app.builder, node["reftype"], canonical, node, contnode
            )
    return None


# :ref: labels of scikit-learn's user guide that docstrings sknn inherits use
# (``score``'s summary, shown in the method tables too), and their pages.
SKLEARN_LABELS = {
    "accuracy_score": f"{_SKLEARN}/modules/model_evaluation.html#accuracy-score",
    "metadata_routing": f"{_SKLEARN}/metadata_routing.html",
}


def _missing_reference(app, env, node, contnode):
    if node.get("refdomain") == "std" and node.get("reftype") == "ref":
        label = node.get("reftarget", "")
        if label in SKLEARN_LABELS:
            reference = nodes.reference("", "", internal=False, refuri=SKLEARN_LABELS[label])
            reference += contnode
            return reference
        if _from_installed_package(node):
            # Another project's label in a docstring sknn inherits: shown as text.
            return contnode
        return None
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    top = target.split(".", 1)[0]
    if not target:
        return None
    if top == "sknn" or "." not in target:
        reexport = _sknn_reexport(app, env, node, contnode)
        if reexport is not None or top == "sknn":
            return reexport
    if top not in LINKED and top not in UNLINKED and top not in STDLIB:
        if "." in target or not hasattr(builtins, target):
            return None
    resolved = _resolve(target)
    if resolved is None:
        if top in UNLINKED and importlib.util.find_spec(top) is None:
            # An optional package that is not installed here (Dask, ONNX, PyTorch): the
            # name cannot be checked, and is shown unlinked, as when it is installed.
            return contnode
        return None
    _, kind = resolved
    if top in LINKED:
        url = LINKED[top](target, kind)
    elif top in STDLIB or "." not in target:
        url = _python_url(target, kind)
    else:
        url = None
    if url is None:
        return contnode
    reference = nodes.reference("", "", internal=False, refuri=url, reftitle=target)
    reference += contnode
    return reference


def setup(app):
    app.connect("missing-reference", _missing_reference)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
