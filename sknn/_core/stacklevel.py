"""Warnings that point at the user's line, past sknn's, scikit-learn's and joblib's frames."""

import os
import sys

import joblib
import sklearn

# Frames in these packages are skipped: meta-estimators reach fit through
# scikit-learn's and joblib's own frames.
_INTERNAL_DIRS = tuple(
    os.path.dirname(os.path.abspath(init)) + os.sep
    for init in (
        os.path.join(os.path.dirname(__file__), os.pardir, "__init__.py"),
        sklearn.__file__,
        joblib.__file__,
    )
)


def user_stacklevel():
    """The ``stacklevel`` at which ``warnings.warn`` names the user's call.

    Meant to be called by the function that warns; the first frame outside
    sknn, scikit-learn and joblib is the user's.
    """
    frame = sys._getframe(1)
    level = 1
    while frame is not None and frame.f_code.co_filename.startswith(_INTERNAL_DIRS):
        frame = frame.f_back
        level += 1
    return level
