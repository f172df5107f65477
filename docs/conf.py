"""Sphinx configuration of the sknn documentation.

Build (from the repository root, after ``pip install -e ".[docs]"``)::

    python -m sphinx -W -n -b html docs docs/_build/html

``-W`` turns every warning into an error and ``-n`` (nitpicky) makes every
reference that does not resolve a warning, so a broken internal link, a
numpydoc validation failure or a failing gallery example fails the build.
Nothing is fetched from the network: references to scikit-learn, NumPy, SciPy
and the standard library are resolved offline by ``_ext/offline_xref.py``.
"""

import logging
import os
import re
import sys
import warnings
from pathlib import Path

# Before anything imports scipy or scikit-learn: scipy reads SCIPY_ARRAY_API once, on its
# first import, and scikit-learn refuses array_api_dispatch without it. The gallery's
# PyTorch example runs in this process, so the variable must be set here, first.
os.environ.setdefault("SCIPY_ARRAY_API", "1")
# One BLAS thread: the gallery's fits are small, and on a busy 2-core machine
# OpenBLAS's threads spin against each other (fits ran up to 60x slower). A value set
# by the caller is kept.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")
# Matplotlib without a display, whatever the machine.
os.environ.setdefault("MPLBACKEND", "Agg")

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))  # the sknn of this work tree, installed or not
sys.path.insert(0, str(DOCS / "_ext"))

import sknn  # noqa: E402

# -- Project ------------------------------------------------------------------------------
project = "sknn"
author = "the sknn developers"
copyright = "the sknn developers (BSD-3-Clause)"
release = sknn.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",  # CHANGELOG.md
    "matplotlib.sphinxext.mathmpl",  # formulas as images, rendered here: no MathJax download
    "offline_xref",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "NUMPYDOC_TODO.md", "**/GALLERY_HEADER.rst"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
default_role = "literal"  # `x` is code, as in the docstrings' habit
nitpicky = True
suppress_warnings = []

# -- Autodoc, autosummary -----------------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {"members": False}
autodoc_typehints = "none"  # numpydoc's Parameters sections say it; no duplicate signatures
add_module_names = False
toc_object_entries_show_parents = "hide"  # "fit", not "ShallowNNClassifier.fit", in page TOCs

# -- numpydoc and its validation ----------------------------------------------------------
numpydoc_show_class_members = False  # the class template lists the methods
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False

# Every numpydoc check, on every public object of the API reference, but three that ask
# for sections a short docstring may well leave out (docs/NUMPYDOC_TODO.md counts where):
# - ES01 (no extended summary): a one-line method needs none;
# - SA01 (no See Also) and EX01 (no Examples): the methods are documented on their class's
#   page, whose Examples and See Also cover them.
numpydoc_validate = True
numpydoc_validation_checks = {"all", "ES01", "SA01", "EX01"}


def _inherited_from_elsewhere():
    """Regexes for the methods sknn's public classes inherit from scikit-learn.

    Their docstrings are scikit-learn's to keep (get_params, set_params, score, the
    metadata-routing setters...): numpydoc validates sknn's own docstrings only.
    """
    patterns = []
    for name in ("LogisticRegressionGD", "SoftmaxGD", "ShallowNNClassifier"):
        cls = getattr(sknn, name)
        for attribute in dir(cls):
            member = getattr(cls, attribute, None)
            module = getattr(member, "__module__", None) or ""
            if callable(member) and not attribute.startswith("_") and not module.startswith("sknn"):
                patterns.append(rf"^sknn\.{name}\.{re.escape(attribute)}$")
    return patterns


numpydoc_validation_exclude = set(_inherited_from_elsewhere())

# Docstrings of sknn that fail a check: (object, check) pairs, each listed with its
# message in docs/NUMPYDOC_TODO.md. None today: every public docstring passes. A failure
# that cannot be fixed at once goes here; fix it, then delete its pair. A pair that no
# longer fails is reported (the build fails), so this list cannot go stale.
NUMPYDOC_TODO = {}


# Docstring defects that are not numpydoc checks but break the reStructuredText or a
# reference (also in docs/NUMPYDOC_TODO.md). Each is worked around here, narrowly, until
# the docstring is fixed; a workaround that no longer applies is reported like a stale pair
# above.
# None today.
DOCSTRING_PATCHES = {}
_patches_applied = set()


def _patch_docstring(app, what, name, obj, options, lines):
    for old, new in DOCSTRING_PATCHES.get(name, []):
        for index, line in enumerate(lines):
            if old in line:
                lines[index] = line.replace(old, new)
                _patches_applied.add((name, old))


class _NumpydocTodoFilter(logging.Filter):
    """Drops exactly the (object, check) failures of NUMPYDOC_TODO from numpydoc's warnings."""

    header = re.compile(r"docstring for '([^']+)'")

    def __init__(self, todo):
        super().__init__()
        self.todo = todo
        self.seen = set()

    def filter(self, record):
        message = str(record.msg)
        match = self.header.search(message)
        if not match:
            return True
        name = match.group(1)
        known = self.todo.get(name, set())
        kept = []
        for line in message.splitlines()[1:]:
            code = line.strip().split(":", 1)[0]
            if code in known:
                self.seen.add((name, code))
            elif line.strip():
                kept.append(line)
        if not kept:
            return False
        record.msg = message.splitlines()[0] + "\n" + "\n".join(kept) + "\n"
        record.args = ()
        return True


_todo_filter = _NumpydocTodoFilter(NUMPYDOC_TODO)
logging.getLogger("sphinx.numpydoc.numpydoc").addFilter(_todo_filter)


_read_this_build = set()


def _note_read(app, env, docnames):
    _read_this_build.update(docnames)


def _report_stale_todo(app, exception):
    # Only where this build read every API page: an incremental build that skipped
    # unchanged pages saw no warnings from them.
    api_pages = {doc for doc in app.env.found_docs if doc.startswith("generated/")}
    if exception is not None or not api_pages <= _read_this_build:
        return
    stale = sorted(
        (name, code)
        for name, codes in NUMPYDOC_TODO.items()
        for code in codes
        if (name, code) not in _todo_filter.seen
    )
    stale += sorted(
        (name, f"patch {old!r}")
        for name, patches in DOCSTRING_PATCHES.items()
        for old, _ in patches
        if (name, old) not in _patches_applied
    )
    if stale and app.builder.name == "html":
        from sphinx.util import logging as sphinx_logging

        sphinx_logging.getLogger(__name__).warning(
            "docs/conf.py works around docstring defects that are gone; delete these entries "
            "of NUMPYDOC_TODO / DOCSTRING_PATCHES (and their lines in "
            "docs/NUMPYDOC_TODO.md): %s",
            ", ".join(f"{name} {code}" for name, code in stale),
        )


# -- Gallery ------------------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "subsection_order": [f"../examples/{name}" for name in ("course", "training", "deployment")],
    "within_subsection_order": "FileNameSortKey",
    "filename_pattern": r"/plot_",
    "doc_module": ("sknn",),
    "backreferences_dir": "generated/backreferences",
    "reference_url": {"sknn": None},
    "remove_config_comments": True,
    "show_memory": False,
    "min_reported_time": 0,
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    "abort_on_example_error": False,
    "only_warn_on_example_error": False,
    "capture_repr": ("_repr_html_", "__repr__"),
    "download_all_examples": False,
    "first_notebook_cell": None,
    # The computation-times pages load jQuery and DataTables from CDNs: not written. The
    # times are in the build's output ("sec" lines) instead.
    "write_computation_times": False,
}

# Warnings the examples raise on purpose are shown in their output, not as build warnings.
warnings.filterwarnings("ignore", category=UserWarning, message="Matplotlib is currently using agg")

# -- HTML ---------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"sknn {release}"
html_static_path = ["_static"]
html_css_files = ["sknn.css"]
html_show_sourcelink = False
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "header_links_before_dropdown": 7,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version", "theme-version"],
    # No icon links, analytics or version switcher: nothing to fetch.
    "icon_links": [],
}
html_context = {"default_mode": "light"}
mathmpl_fontsize = 15.0
mathmpl_srcset = ["2x"]
myst_heading_anchors = 3


def setup(app):
    app.connect("autodoc-process-docstring", _patch_docstring, priority=100)
    app.connect("env-before-read-docs", _note_read)
    app.connect("build-finished", _report_stale_todo)
