"""Reading sknn model files of format version 1, for :mod:`sknn.io`.

:func:`from_version_1` rearranges the scanned nodes of a version-1 file (laid
out as the user guide's "File format" section says) into the version-2 layout, before
anything but ``classes_kind`` is read, so that the checks of
:mod:`sknn.io.schema` apply to old files alike.
"""

import numpy as np

from .tree import Node, decode

# The optimizer's constructor arguments, which version 1 stored besides its
# state; they are the estimator's parameters, stored in /params too.
_HYPERPARAMETERS = ("learning_rate", "beta_1", "beta_2", "epsilon")
# Version 1 wrote the shared curves from lists and the feature names from an
# object array; its only groups in /fitted were lists of arrays.
_TAGS = {"loss_curve_": "list", "validation_loss_curve_": "list", "feature_names_in_": "object"}


def from_version_1(root):
    """Rearrange a version-1 file's node tree as version 2 lays it out; return it.

    Nodes keep the paths of the file, for messages (the groups made up here
    are named after their parent, e.g. ``'/rng (state)'``); what is missing
    or misplaced is left for :func:`sknn.io.schema.check_layout` to report.
    """
    children = root.children
    if "fitted" in children:
        fitted = children["attributes"] = children.pop("fitted")
        _tag_fitted(fitted)
    optimizer = children.get("optimizer")
    if optimizer is not None and optimizer.type == "group":
        moved = [n for n in optimizer.children if n != "name" and n not in _HYPERPARAMETERS]
        state = {name: optimizer.children.pop(name) for name in moved}
        for name in _HYPERPARAMETERS:
            node = optimizer.children.get(name)
            if node is not None and node.type == "attribute":
                del optimizer.children[name]
        optimizer.children["state"] = Node("group", f"{optimizer.where} (state)", children=state)
    rng = children.get("rng")
    if rng is not None and rng.type == "group":
        state = {name: rng.children.pop(name) for name in ("key", "pos") if name in rng.children}
        if "cached_gaussian" in rng.children:
            rng.children["gauss"] = rng.children.pop("cached_gaussian")
        generator = np.bytes_(b"MT19937")  # version 1 stored only MT19937's legacy state
        rng.children["bit_generator"] = Node(
            "attribute",
            f"{rng.where} (bit_generator)",
            dtype=generator.dtype,
            shape=(),
            value=generator,
        )
        rng.children["state"] = Node("group", f"{rng.where} (state)", children=state)
    return root


def _tag_fitted(fitted):
    """Version 1 kept the Python types of /fitted in its format, not in the file: tag them."""
    nodes = fitted.children
    kind_node = nodes.pop("classes_kind", None)
    if kind_node is None or kind_node.type != "attribute":
        raise ValueError(f"'{fitted.where}' is missing classes_kind.")
    kind = decode(kind_node)
    if kind not in ("numeric", "str", "object"):
        raise ValueError(f"'{kind_node.where}' must be numeric, str or object, got {kind!r}.")
    classes = nodes.get("classes_")
    if classes is not None and classes.type == "dataset":
        if (kind == "numeric") == (classes.dtype.kind == "S"):
            raise ValueError(
                f"'{classes.where}' of dtype {classes.dtype} cannot have classes_kind {kind!r}."
            )
        classes.tag = "object" if kind == "object" else None
    for name, node in nodes.items():
        if node.type == "group":
            node.tag = "list"
        elif name in _TAGS:
            node.tag = _TAGS[name]
