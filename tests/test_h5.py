"""Hostile and malformed HDF5 files, for every loader, and the helpers of sknn.io.h5.

Each hostile file is crafted with h5py in tmp_path. "Refused" means a
ValueError naming the file and the object, raised before anything of the
object is read.
"""

import multiprocessing
import os
import pickle
import random
import re
import subprocess
import sys

import h5py
import numpy as np
import pytest

import sknn.distributed
from sknn.datasets import LazyH5Dataset, iter_h5_batches, load_h5
from sknn.io import h5 as _h5

SECRET = np.frombuffer(b"TOP SECRET: not for the loader.!", dtype=np.uint8).reshape(4, 8)
Y = np.arange(4) % 2


def in_path(path):
    return re.escape(str(path))


def build(path, **objects):
    """An HDF5 file holding ``objects``: arrays, links, or callables f(file, name)."""
    with h5py.File(path, "w") as f:
        for name, value in objects.items():
            if callable(value):
                value(f, name)
            else:
                f[name] = value
    return path


@pytest.fixture
def secret(tmp_path):
    path = tmp_path / "secret.bin"
    path.write_bytes(SECRET.tobytes())
    return path


@pytest.fixture
def other(tmp_path):
    """Another HDF5 file, holding the secret as /data and /grp/X."""
    return build(tmp_path / "other.h5", data=SECRET, **{"grp/X": SECRET, "grp/y": Y})


def external_storage(secret, shape=SECRET.shape, dtype=SECRET.dtype):
    """Create a dataset whose raw data is the start of the file ``secret``."""
    nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize

    def create(f, name):
        f.create_dataset(name, shape=shape, dtype=dtype, external=[(secret, 0, nbytes)])

    return create


def virtual(other):
    def create(f, name):
        layout = h5py.VirtualLayout(shape=SECRET.shape, dtype=SECRET.dtype)
        layout[:] = h5py.VirtualSource(other, "data", shape=SECRET.shape)
        f.create_virtual_dataset(name, layout)

    return create


@pytest.fixture
def no_reads(monkeypatch):
    """Fail on any read of a dataset's values (a refused file must read none)."""

    def refuse(self, *args, **kwargs):
        raise AssertionError(f"{self.name} was read")

    monkeypatch.setattr(h5py.Dataset, "__getitem__", refuse)
    monkeypatch.setattr(h5py.Dataset, "read_direct", refuse)


# The loaders, as functions returning the X they read. iter_h5_batches must
# refuse at the call, before the first batch.
def _read_batches(path, **kw):
    batches = iter_h5_batches(path, 3, **kw)
    return np.concatenate([X for X, _ in batches])


READERS = {
    "load_h5": lambda path, **kw: load_h5(path, **kw).data,
    "iter_h5_batches": _read_batches,
    "LazyH5Dataset": lambda path, x_key="X", **kw: LazyH5Dataset(path, x_key, flatten=True, **kw)[
        :
    ],
}


@pytest.fixture(params=READERS.values(), ids=READERS.keys())
def read_X(request):
    return request.param


# --- data from other files: refused by default, read on opt-in ----------------

HOSTILE_X = {
    "external storage": (external_storage, "its data is stored outside the file, in .*secret.bin"),
    "external link": (lambda other: h5py.ExternalLink(other, "/data"), "external link to '/data'"),
    "virtual dataset": (virtual, "a virtual dataset mapping data from .*other.h5"),
}


@pytest.mark.parametrize("kind", HOSTILE_X)
def test_other_files_are_refused_then_read_on_opt_in(tmp_path, secret, other, read_X, kind):
    make, message = HOSTILE_X[kind]
    path = build(tmp_path / "f.h5", X=make(secret if kind == "external storage" else other), y=Y)
    with pytest.raises(ValueError, match=f"'/X' in '{in_path(path)}'.*{message}.*allow_external"):
        read_X(path)
    np.testing.assert_array_equal(read_X(path, allow_external=True), SECRET)


@pytest.mark.parametrize("kind", HOSTILE_X)
def test_refused_before_any_read(tmp_path, secret, other, kind, no_reads):
    make, _ = HOSTILE_X[kind]
    path = build(tmp_path / "f.h5", X=make(secret if kind == "external storage" else other), y=Y)
    for call in (
        lambda: load_h5(path),
        lambda: iter_h5_batches(path, 2),  # not iterated: refused at the call
        lambda: LazyH5Dataset(path, "X"),
    ):
        with pytest.raises(ValueError, match="allow_external"):
            call()


@pytest.mark.parametrize("target", ["y", "list_classes"])
def test_external_storage_of_y_and_class_names_is_refused(tmp_path, secret, target):
    objects = {"X": np.ones((4, 2)), "y": Y, "list_classes": np.array([b"a", b"b"])}
    objects[target] = external_storage(secret, (4,), "u1" if target == "y" else "S8")
    path = build(tmp_path / "f.h5", **objects)
    with pytest.raises(ValueError, match=f"'/{target}' in '{in_path(path)}'.*outside the file"):
        load_h5(path, x_key="X", y_key="y")
    bunch = load_h5(path, x_key="X", y_key="y", allow_external=True)
    expected = {
        "y": SECRET.ravel()[:4],
        "list_classes": ["TOP SECR", "ET: not ", "for the ", "loader.!"],
    }
    got = bunch.target if target == "y" else bunch.target_names
    np.testing.assert_array_equal(got, expected[target])


def test_external_link_on_the_way_is_refused(tmp_path, other, read_X):
    path = build(tmp_path / "f.h5", g=h5py.ExternalLink(other, "/grp"))
    with pytest.raises(ValueError, match=f"'/g' in '{in_path(path)}'.*external link"):
        read_X(
            path, x_key="g/X", **({} if read_X is READERS["LazyH5Dataset"] else {"y_key": "g/y"})
        )


def test_external_link_among_members_is_refused_when_inferring(tmp_path, other):
    path = build(tmp_path / "f.h5", X=np.ones((4, 2)), y=Y, ext=h5py.ExternalLink(other, "/data"))
    with pytest.raises(ValueError, match=f"'/ext' in '{in_path(path)}'.*external link"):
        load_h5(path)
    assert load_h5(path, x_key="X", y_key="y").data.shape == (4, 2)  # never looked at


def test_lazy_dataset_checks_again_on_every_read(tmp_path, other):
    path = build(tmp_path / "f.h5", X=np.zeros((4, 8), dtype=np.uint8))
    lazy = LazyH5Dataset(path, "X")
    build(path, X=h5py.ExternalLink(other, "/data"))  # rewritten after construction
    with pytest.raises(ValueError, match="external link"):
        lazy[:2]
    opted_in = pickle.loads(pickle.dumps(LazyH5Dataset(path, "X", allow_external=True)))
    np.testing.assert_array_equal(opted_in[:2], SECRET[:2])


# --- soft links ----------------------------------------------------------------


def test_soft_link_cycle_is_a_value_error(tmp_path, read_X):
    cycle = {"a": h5py.SoftLink("/b"), "b": h5py.SoftLink("/a")}
    path = build(tmp_path / "f.h5", X=np.ones((4, 2)), y=Y, **cycle)
    with pytest.raises(
        ValueError, match=f"Soft link '/[ab]' in '{in_path(path)}' is part of a cycle"
    ):
        read_X(path, x_key="a")
    if read_X is not READERS["LazyH5Dataset"]:
        with pytest.raises(ValueError, match="cycle"):  # met while inferring the keys
            read_X(path)
        # The opt-in is about other files, not cycles.
        with pytest.raises(ValueError, match="cycle"):
            read_X(path, allow_external=True)
    assert read_X(
        path, x_key="X", **({} if read_X is READERS["LazyH5Dataset"] else {"y_key": "y"})
    )[0].tolist() == [1, 1]


@pytest.mark.parametrize(
    "links, key",
    [
        ({"a": h5py.SoftLink("a")}, "a"),  # relative, to itself
        ({"g/loop": h5py.SoftLink("/g/loop2"), "g/loop2": h5py.SoftLink("loop")}, "g/loop"),
        ({"g/up": h5py.SoftLink("/g")}, "g/up/up/up/X"),  # a group in itself: a path, no cycle
    ],
    ids=["self", "in-group", "group-loop"],
)
def test_soft_link_shapes(tmp_path, links, key):
    path = build(tmp_path / "f.h5", **{"g/X": np.ones((4, 2))}, **links)
    if key.endswith("X"):
        assert LazyH5Dataset(path, key).shape == (4, 2)
    else:
        with pytest.raises(ValueError, match="is part of a cycle"):
            LazyH5Dataset(path, key)


def test_soft_link_chains_are_bounded(tmp_path):
    n = _h5.MAX_SOFT_LINKS
    chain = {f"l{i}": h5py.SoftLink(f"/l{i + 1}") for i in range(n + 1)}
    path = build(tmp_path / "f.h5", **{f"l{n + 1}": np.ones((4, 2))}, **chain)
    assert LazyH5Dataset(path, "l1").shape == (4, 2)  # n links
    with pytest.raises(ValueError, match=f"More than {n} soft links.*'l0'"):
        LazyH5Dataset(path, "l0")


def test_dangling_soft_link_is_a_missing_dataset(tmp_path):
    path = build(tmp_path / "f.h5", X=np.ones((4, 2)), y=Y, z=h5py.SoftLink("/nowhere"))
    assert load_h5(path).data.shape == (4, 2)
    with pytest.raises(ValueError, match="No dataset 'z'"):
        load_h5(path, x_key="z")


# --- paths that are not files --------------------------------------------------


def call_with_timeout(fn, timeout=30):
    """Return ``(type name, message)`` of what fn() raised, or None.

    fn runs in a forked child, killed if it blocks: h5py holds the GIL while
    it opens a file, so a thread stuck on a FIFO would block the tests too.
    """
    receive, send = multiprocessing.Pipe(duplex=False)

    def run():
        try:
            fn()
            send.send(None)
        except BaseException as exc:  # handed to the test
            send.send((type(exc).__name__, str(exc)))

    child = multiprocessing.get_context("fork").Process(target=run, daemon=True)
    child.start()
    ready = receive.poll(timeout)
    outcome = receive.recv() if ready else None
    child.kill()
    child.join()
    if not ready:
        pytest.fail(f"blocked for {timeout} s")
    return outcome


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo")
def test_fifo_is_refused_without_blocking(tmp_path, read_X):
    fifo = tmp_path / "pipe.h5"
    os.mkfifo(fifo)
    error = call_with_timeout(lambda: read_X(fifo))
    assert error is not None and error[0] == "ValueError"
    assert re.search(f"'{in_path(fifo)}' is a FIFO .*refusing to open it", error[1])


@pytest.mark.parametrize("where", ["device", "directory"])
def test_other_non_regular_paths_are_refused(tmp_path, read_X, where):
    path = os.devnull if where == "device" else tmp_path
    if not os.path.exists(path):
        pytest.skip(f"no {path}")
    with pytest.raises(ValueError, match=f"'{re.escape(str(path))}' is a {where}"):
        read_X(path)


def test_symlink_to_a_regular_file_is_fine(tmp_path):
    target = build(tmp_path / "f.h5", X=np.ones((4, 2)), y=Y)
    (tmp_path / "link.h5").symlink_to(target)
    assert load_h5(tmp_path / "link.h5").data.shape == (4, 2)


# --- list_classes ----------------------------------------------------------------


def huge_class_names(f, name):
    # Declares 4 GiB; compressed and never written, it takes a few KB on disk.
    f.create_dataset(name, shape=(2**28,), dtype="S16", chunks=(2**16,), compression="gzip")


def test_huge_declared_class_names_are_refused_unread(tmp_path, no_reads):
    path = build(tmp_path / "f.h5", X=np.ones((4, 2)), y=Y, list_classes=huge_class_names)
    assert os.path.getsize(path) < 2**20
    message = f"'/list_classes' in '{in_path(path)}' declares 4294967296 bytes.*refusing"
    with pytest.raises(ValueError, match=message):
        load_h5(path)


def test_variable_length_class_names_are_counted_as_read(tmp_path, monkeypatch):
    names = np.array(["x" * 2**20] * 20, dtype=h5py.string_dtype())  # 20 MiB of names
    path = build(tmp_path / "f.h5", X=np.ones((4, 2)), y=Y, list_classes=names)
    reads, original = [], h5py.Dataset.__getitem__

    def spy(self, index, *args, **kwargs):
        out = original(self, index, *args, **kwargs)
        if self.name == "/list_classes":
            reads.append(len(out))
        return out

    monkeypatch.setattr(h5py.Dataset, "__getitem__", spy)
    with pytest.raises(ValueError, match="'/list_classes'.*more than 16777216 bytes of strings"):
        load_h5(path)
    # Each string could be as long as the file: one at a time, stopping at the limit.
    assert reads == [1] * 17
    assert load_h5(path, return_X_y=True)[0].shape == (4, 2)  # names not needed


@pytest.mark.parametrize(
    "stored",
    [
        np.array([b"caf\xc3\xa9", b"th\xc3\xa9"]),  # numpy S: labelled ASCII
        np.array([b"caf\xc3\xa9", b"th\xc3\xa9"], dtype=h5py.string_dtype("ascii")),
        np.array(["café", "thé"], dtype=h5py.string_dtype()),
        np.array(["café".encode(), "thé".encode()], dtype=h5py.string_dtype("utf-8", 6)),
    ],
    ids=["fixed-ascii", "vlen-ascii", "vlen-utf8", "fixed-utf8"],
)
def test_utf8_class_names_decode(tmp_path, stored):
    path = build(tmp_path / "f.h5", X=np.ones((4, 2)), y=Y, list_classes=stored)
    assert load_h5(path).target_names.tolist() == ["café", "thé"]


def test_class_names_that_are_not_utf8_are_refused(tmp_path):
    path = build(tmp_path / "f.h5", X=np.ones((4, 2)), y=Y, list_classes=np.array([b"\xff"]))
    with pytest.raises(ValueError, match=rf"'/list_classes' in '{in_path(path)}' holds b'\\xff'"):
        load_h5(path)


@pytest.mark.parametrize(
    "stored, expected",
    [
        (np.array([0, 1]), ["0", "1"]),
        (np.array([], dtype=h5py.string_dtype()), []),
        (np.array([["a", "b"], ["c", "d"]], dtype=h5py.string_dtype()), [["a", "b"], ["c", "d"]]),
    ],
    ids=["numbers", "empty-vlen", "2d-vlen"],
)
def test_other_class_name_layouts(tmp_path, stored, expected):
    path = build(tmp_path / "f.h5", X=np.ones((4, 2)), y=Y, list_classes=stored)
    assert load_h5(path).target_names.tolist() == expected


# --- malformed files: always a ValueError naming the file ------------------------


@pytest.mark.parametrize("target", ["X", "y", "list_classes"])
def test_null_dataspace(tmp_path, target):
    objects = {"X": np.ones((4, 2)), "y": Y, "list_classes": np.array([b"a"])}
    objects[target] = h5py.Empty("f8")
    path = build(tmp_path / "f.h5", **objects)
    with pytest.raises(ValueError, match=f"'/?{target}' in '{in_path(path)}'"):
        load_h5(path, x_key="X", y_key="y")


def test_random_corruption_gives_only_value_errors(tmp_path):
    base = build(
        tmp_path / "base.h5",
        train_set_x=np.arange(6 * 48, dtype=np.uint8).reshape(6, 4, 4, 3),
        train_set_y=np.arange(6) % 2,
        list_classes=np.array([b"non-cat", b"cat"]),
        **{"g/names": np.array(["a", "b"], dtype=h5py.string_dtype())},
    )
    data = base.read_bytes()
    with h5py.File(base) as f:  # flip metadata, not the pixels
        start, size = f["train_set_x"].id.get_offset(), f["train_set_x"].id.get_storage_size()
    metadata = [i for i in range(len(data)) if not start <= i < start + size]
    rng, path, refused = random.Random(0), tmp_path / "flipped.h5", 0
    for _ in range(400):
        flipped = bytearray(data)
        for _ in range(rng.choice([1, 1, 2, 4])):
            flipped[rng.choice(metadata)] ^= 1 << rng.randrange(8)
        path.write_bytes(flipped)
        for read in READERS.values():
            try:
                read(path, x_key="train_set_x")
            except ValueError as exc:
                assert str(path) in str(exc), exc
                refused += 1
    assert refused > 50  # the flips did break files


def test_bad_file_errors_translates_only_bad_file_errors(tmp_path):
    for error in (OSError("x"), KeyError("x"), RuntimeError("x"), TypeError("x")):
        with pytest.raises(ValueError, match="'f.h5' is not a readable HDF5 file"):
            with _h5.bad_file_errors("f.h5"):
                raise error
    for error in (IndexError("x"), ValueError("mine")):
        with pytest.raises(type(error), match="^'?(x|mine)'?$"):
            with _h5.bad_file_errors("f.h5"):
                raise error


def test_key_of_the_wrong_type_is_not_a_bad_file(tmp_path, read_X):
    path = build(tmp_path / "f.h5", X=np.ones((4, 2)), y=Y)
    with pytest.raises(TypeError, match="str, got 3"):
        read_X(path, x_key=3)


def test_bad_index_is_not_a_bad_file(tmp_path):
    lazy = LazyH5Dataset(build(tmp_path / "f.h5", X=np.ones((4, 2))), "X")
    with pytest.raises(TypeError):
        lazy[slice("a", None)]
    with pytest.raises(IndexError):
        lazy[4]


# --- the helpers, as other readers (sknn.io) use them ----------------------------


def test_helpers_for_other_readers(tmp_path):
    path = build(tmp_path / "f.h5", X=np.ones((4, 2)), empty=h5py.Empty("f8"))
    assert _h5.check_regular_file(path).st_size == os.path.getsize(path)
    with pytest.raises(FileNotFoundError, match="nope.h5"):
        _h5.check_regular_file(tmp_path / "nope.h5")
    with h5py.File(path, "a") as f:
        f["X"].attrs["big"] = np.zeros(1000)
    with _h5.open_h5_safely(path) as f:
        attr = f["X"].attrs.get_id("big")  # inspected, not read
        assert _h5.declared_nbytes(attr) == 8000
        with pytest.raises(ValueError, match="'X.attrs.big' in .*declares 8000 bytes"):
            _h5.check_size(attr, path=path, max_bytes=1000, name="X.attrs.big")
        assert _h5.check_size(f["X"], path=path, max_bytes=64) == 64
        assert _h5.declared_nbytes(f["empty"]) == 0
        assert _h5.get_object(f, "X/inside", path=path) is None
        assert _h5.get_object(f, "/X", path=path).shape == (4, 2)
        assert _h5.get_dataset(f, "/", path=path) is None
        assert set(_h5.list_datasets(f, path=path)) == {"X", "empty"}
    assert _h5.decode_utf8(b"caf\xc3\xa9", path=path, name="n") == "café"
    decoded = _h5.decode_utf8(np.array([[b"a"], [b"\xc3\xa9"]], dtype=object), path=path, name="n")
    assert decoded.tolist() == [["a"], ["é"]]


def test_lazy_dataset_is_one_class_and_needs_no_dask(tmp_path):
    assert sknn.distributed.LazyH5Dataset is LazyH5Dataset
    old = LazyH5Dataset(build(tmp_path / "f.h5", X=np.ones((4, 2))), "X")
    del old.__dict__["allow_external"]  # as pickled before the option existed
    assert pickle.loads(pickle.dumps(old))[:].shape == (4, 2)
    code = (
        "import sys; sys.modules.update(dask=None, distributed=None)\n"
        "from sknn.distributed import LazyH5Dataset, h5_to_dask\n"
        f"print(LazyH5Dataset({str(tmp_path / 'f.h5')!r}, 'X').shape)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "(4, 2)"
