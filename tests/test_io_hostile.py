"""sknn.io against hostile, corrupt and failing files (sknn/io.py, issue 10).

Tampered files are refused with a ValueError naming the file, before any
estimator gets a state; files built to exhaust memory or time are refused
quickly within a small memory limit (checked in a subprocess under
RLIMIT_AS); random byte flips never load a model that predicts otherwise;
and a save that fails leaves an existing file as it was.
"""

import json
import os
import pickle
import random
import shutil
import subprocess
import sys
import zlib
from collections import Counter

import h5py
import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_array_equal
from test_io import ESTIMATORS, LABELS, data, make, write_version_1

import sknn
from sknn import ShallowNNClassifier, SoftmaxGD
from sknn.io import load, save
from sknn.io import tree as _io_tree

# --- what load refuses -----------------------------------------------------------


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """One saved linear model and one saved network, to copy and tamper with."""
    directory = tmp_path_factory.mktemp("saved")
    X, y = data()
    frame = pd.DataFrame(X, columns=list("abcde"))
    models = {
        "linear": make(SoftmaxGD, optimizer="adam", class_weight={0: 2.0}).fit(frame, y),
        "network": make(ShallowNNClassifier, optimizer="adam").fit(X, y),
    }
    paths = {}
    for kind, model in models.items():
        paths[kind] = directory / f"{kind}.h5"
        save(model, paths[kind])
    return paths


def assert_refused(path, match, monkeypatch, error=ValueError):
    """load raises, having run nothing and given no estimator a state."""

    def forbidden(*args, **kwargs):
        raise AssertionError("load ran code, or gave an estimator a state before checking")

    for module, name in [(os, "system"), (pickle, "load"), (pickle, "loads")]:
        monkeypatch.setattr(module, name, forbidden)
    for Estimator in ESTIMATORS:
        monkeypatch.setattr(Estimator, "_set_state", forbidden)
    with pytest.raises(error, match=match):
        load(path)


def resign(f):
    """Store the checksum of the file's current contents, as a deliberate editor would."""
    root = _io_tree.scan(f, path=f.filename, max_bytes=2**30)
    digest = sknn.io._digest(root)
    f.attrs["checksum"] = np.bytes_(f"sha256:{digest}")


# Edits of a saved file, as functions of the open h5py.File.
def set_attr(path, name, value):
    # As save stores str: fixed-length (h5py would write a str as variable-length).
    value = np.bytes_(value.encode()) if isinstance(value, str) else value

    def edit(f):
        f[path].attrs[name] = value  # replaces the attribute, its type included

    return edit


def delete_attr(path, name):
    def edit(f):
        del f[path].attrs[name]

    return edit


def delete(path):
    def edit(f):
        del f[path]

    return edit


def create(path, value, **kwargs):
    def edit(f):
        f.create_dataset(path, data=value, **kwargs)

    return edit


def replace(path, value, **kwargs):
    """Replace a dataset, keeping its __kind__ tag."""

    def edit(f):
        tag = f[path].attrs.get("__kind__")
        del f[path]
        create(path, value, **kwargs)(f)
        if tag is not None:
            f[path].attrs["__kind__"] = tag

    return edit


def fill(path, value):
    def edit(f):
        f[path][...] = value

    return edit


def soft_link(f):
    del f["attributes/intercept_"]
    f["attributes/intercept_"] = h5py.SoftLink("/attributes/coef_")


def link_cycle(f):
    f["params/class_weight/loop"] = f["params/class_weight"]


def external_storage(f):
    outside = os.path.join(os.path.dirname(f.filename), "outside.bin")
    np.zeros(3).tofile(outside)
    del f["attributes/intercept_"]
    f.create_dataset("attributes/intercept_", shape=(3,), dtype="f8", external=[(outside, 0, 24)])


def future_minor_version():
    major, minor = sknn.__version__.split(".")[:2]
    return f"{major}.{int(minor) + 1}.0"


# name: (saved model, edit, message). The linear model is a 3-class SoftmaxGD
# on 5 features; the network has 6 hidden units. Each edited file is signed
# again, so that what is refused is the edit, not the checksum.
TAMPERING = {
    "class_name_os_system": (
        "linear",
        set_attr("/", "estimator", "os.system"),
        "unknown estimator 'os.system'",
    ),
    "class_name_dotted_path": (
        "linear",
        set_attr("/", "estimator", "sknn.linear.SoftmaxGD"),
        "unknown estimator 'sknn.linear.SoftmaxGD'",
    ),
    "class_name_of_another_estimator": (
        "linear",
        set_attr("/", "estimator", "ShallowNNClassifier"),
        "'/params' is missing hidden_layer_size",
    ),
    "not_sknn_format": ("linear", set_attr("/", "format", "pickle"), "not an sknn model file"),
    "future_format_version": (
        "linear",
        set_attr("/", "format_version", 3),
        "file format version 3, newer",
    ),
    "future_sknn_version": (
        "linear",
        set_attr("/", "sknn_version", future_minor_version()),
        f"written by sknn {future_minor_version()}, newer",
    ),
    "missing_checksum": ("linear", delete_attr("/", "checksum"), "'/' is missing checksum"),
    "unknown_parameter": (
        "linear",
        set_attr("params", "foo", 1),
        "'/params' has unexpected entries foo",
    ),
    "missing_parameter": ("linear", delete_attr("params", "alpha"), "'/params' is missing alpha"),
    "parameter_str_for_float": (
        "linear",
        set_attr("params", "alpha", "big"),
        "'alpha' parameter of SoftmaxGD",
    ),
    "parameter_int_for_bool": ("linear", set_attr("params", "shuffle", 1), "'shuffle' parameter"),
    "parameter_out_of_range": ("linear", set_attr("params", "max_iter", 0), "'max_iter' parameter"),
    "random_state_float": (
        "linear",
        set_attr("params", "random_state", 1.5),
        "'random_state' parameter",
    ),
    "parameter_array": (
        "linear",
        set_attr("params", "max_iter", [5, 6]),
        r"'/params/max_iter' is an attribute of shape \(2,\), not a single value",
    ),
    "class_weight_lengths": (
        "linear",
        replace("params/class_weight/values", [1.0, 2.0]),
        "has 1 keys but 2 values",
    ),
    "coef_shape": (
        "linear",
        replace("attributes/coef_", np.zeros((2, 5))),
        r"coef_' has shape \(2, 5\); expected \(3, 5\)",
    ),
    "coef_int_dtype": (
        "linear",
        replace("attributes/coef_", np.zeros((3, 5), int)),
        "coef_' has dtype int64",
    ),
    "coef_float16": (
        "linear",
        replace("attributes/coef_", np.zeros((3, 5), np.float16)),
        "coef_' has dtype float16; expected float32 or float64",
    ),
    "coef_big_endian": (
        "linear",
        replace("attributes/coef_", np.zeros((3, 5), ">f8")),
        "coef_' has dtype >f8; sknn model files hold only numbers in native byte order",
    ),
    "weights_mix_dtypes": (
        "linear",
        replace("attributes/intercept_", np.zeros(3, np.float32)),
        "mix dtypes float32 and float64",
    ),
    "nan_in_coef": ("linear", fill("attributes/coef_", np.nan), "coef_' holds NaN"),
    "missing_intercept": (
        "linear",
        delete("attributes/intercept_"),
        "'/attributes' is missing intercept_",
    ),
    "extra_array": ("linear", create("attributes/extra", [1]), "unexpected entries extra"),
    "classes_unsorted": (
        "linear",
        replace("attributes/classes_", [2, 1, 0]),
        "sorted, unique labels",
    ),
    "classes_vlen_strings": (
        "linear",
        replace("attributes/classes_", ["a", "b", "c"], dtype=h5py.string_dtype()),
        "classes_' has dtype object",
    ),
    "classes_numbers_tagged_object": (
        "linear",
        set_attr("attributes/classes_", "__kind__", np.bytes_(b"object")),
        "cannot be tagged object",
    ),
    "unknown_tag": (
        "linear",
        set_attr("attributes/coef_", "__kind__", np.bytes_(b"pickle")),
        r"__kind__' must be one of \['list', 'object', 'fortran'\]",
    ),
    "dict_tagged_list": (
        "linear",
        set_attr("optimizer/state/first_moments", "__kind__", np.bytes_(b"list")),
        "first_moments' must be a group of named arrays, not a list",
    ),
    "n_iter_mismatch": ("linear", set_attr("attributes", "n_iter_", 99), "n_iter_ is 99"),
    "negative_n_iter": ("linear", set_attr("attributes", "n_iter_", -1), "n_iter_' must be an"),
    "stop_reason_unknown": (
        "linear",
        set_attr("attributes", "stop_reason_", "bored"),
        "stop_reason_' must be one of",
    ),
    "best_loss_nan": ("linear", set_attr("attributes", "best_loss_", np.nan), "best_loss_' is NaN"),
    "feature_names_length": (
        "linear",
        replace("attributes/feature_names_in_", np.array([b"a", b"b"])),
        "feature_names_in_' must be 5 strings",
    ),
    "dataset_attribute": (
        "linear",
        set_attr("attributes/coef_", "x", 1),
        "coef_' has attribute 'x'",
    ),
    "soft_link": ("linear", soft_link, "soft or external link"),
    "link_cycle": ("linear", link_cycle, "object with several links"),
    "external_storage": ("linear", external_storage, "stored outside the file"),
    "unknown_optimizer": (
        "linear",
        set_attr("optimizer", "name", "sgd"),
        "'/optimizer/name' must be one of",
    ),
    "moment_shape": (
        "linear",
        replace("optimizer/state/first_moments/W", np.zeros((5, 2))),
        r"first_moments/W' has shape \(5, 2\); expected \(5, 3\)",
    ),
    "missing_moment": (
        "linear",
        delete("optimizer/state/second_moments/b"),
        "second_moments' is missing b",
    ),
    "adam_without_first_moments": (
        "linear",
        delete("optimizer/state/first_moments"),
        "'/optimizer/state' is not a state of the 'adam' optimizer",
    ),
    "adam_float_step_count": (
        "linear",
        set_attr("optimizer/state", "t", 5.0),
        "not a state of the 'adam' optimizer",
    ),
    "optimizer_state_array": (
        "linear",
        create("optimizer/state/t2", [1.0]),
        "t2' must be a number or a group of arrays",
    ),
    "rng_key_shape": (
        "linear",
        replace("rng/state/key", np.zeros(10, np.uint32)),
        "key' must be 624 uint32 values",
    ),
    "rng_pos": (
        "linear",
        set_attr("rng/state", "pos", 700),
        r"pos' must be an integer in \[0, 624\]",
    ),
    "rng_generator": (
        "linear",
        set_attr("rng", "bit_generator", "PCG64"),
        "bit_generator' must be 'MT19937'",
    ),
    "hidden_size_mismatch": (
        "network",
        set_attr("params", "hidden_layer_size", 7),
        r"coefs_/0' has shape \(5, 6\); expected \(5, 7\)",
    ),
    "network_missing_layer": (
        "network",
        delete("attributes/intercepts_/1"),
        "intercepts_' is missing 1",
    ),
    "network_weights_not_a_list": (
        "network",
        delete_attr("attributes/coefs_", "__kind__"),
        "coefs_' must be a list",
    ),
    "network_inf": ("network", fill("attributes/coefs_/1", np.inf), "coefs_' holds NaN or inf"),
}


@pytest.mark.parametrize("case", list(TAMPERING))
def test_load_refuses_tampered_file(saved, tmp_path, monkeypatch, case):
    model, edit, match = TAMPERING[case]
    path = tmp_path / "model.h5"
    shutil.copy(saved[model], path)
    with h5py.File(path, "r+") as f:
        edit(f)
        if "checksum" in f.attrs:
            try:
                resign(f)
            except ValueError:
                pass  # a file the scan refuses: load refuses it alike
    assert_refused(path, f"Cannot load '.*model.h5': .*{match}", monkeypatch)


def test_load_refuses_file_changed_after_saving(saved, tmp_path, monkeypatch):
    path = tmp_path / "model.h5"
    shutil.copy(saved["linear"], path)
    with h5py.File(path, "r+") as f:
        f["attributes/coef_"][0, 0] += 1.0
    assert_refused(path, "checksum does not match its contents", monkeypatch)


def test_newer_format_version_is_reported_whatever_its_layout(tmp_path, monkeypatch):
    path = tmp_path / "model.h5"
    with h5py.File(path, "w") as f:
        f.attrs.update(format=b"sknn-model", format_version=3, sknn_version=b"9.0.0")
        f.create_dataset("weights", shape=(2**30,), dtype="f8", compression="gzip")
        f["alias"] = f["weights"]
        f["loop"] = h5py.SoftLink("/loop")
    assert_refused(path, "file format version 3, newer .* upgrade sknn", monkeypatch)


def test_load_missing_file(tmp_path, monkeypatch):
    assert_refused(tmp_path / "nope.h5", "No such sknn model file", monkeypatch, FileNotFoundError)


def test_load_not_hdf5(tmp_path, monkeypatch):
    path = tmp_path / "model.h5"
    path.write_bytes(pickle.dumps(SoftmaxGD()))
    assert_refused(path, "not a readable HDF5 file", monkeypatch)


def test_load_other_hdf5_file(tmp_path, monkeypatch):
    path = tmp_path / "data.h5"
    with h5py.File(path, "w") as f:
        f["X"] = np.zeros((3, 2))
    assert_refused(path, "not an sknn model file: its 'format' attribute is None", monkeypatch)


@pytest.mark.parametrize(
    "edit, match",
    [
        (set_attr("fitted", "classes_kind", "str"), "cannot have classes_kind 'str'"),
        (delete_attr("fitted", "classes_kind"), "'/fitted' is missing classes_kind"),
        (delete("rng/key"), r"'/rng \(state\)' is missing key"),
        (set_attr("optimizer", "t", 3), "not a state of the 'momentum' optimizer"),
        (replace("fitted/coef_", np.zeros((3, 4))), r"'/fitted/coef_' has shape \(3, 4\)"),
    ],
    ids=["classes_kind_mismatch", "no_classes_kind", "no_rng_key", "foreign_state", "coef_shape"],
)
def test_version_1_files_are_checked_alike(tmp_path, monkeypatch, edit, match):
    path = tmp_path / "v1.h5"
    write_version_1(make(SoftmaxGD, optimizer="momentum").fit(*data()), path)
    with h5py.File(path, "r+") as f:
        edit(f)
    assert_refused(path, f"Cannot load '.*v1.h5': .*{match}", monkeypatch)


# --- files built to exhaust memory or time ----------------------------------------

GiB = 2**30
# Loads in a fresh interpreter whose address space may grow 1.5 GiB past what
# importing sknn takes: a load that allocated what a file declares would get
# MemoryError there instead of taking the machine down.
LIMITED_LOAD = """
import json, resource, sys, time
import sknn.io


def status(field):  # kB, from /proc/self/status
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith(field))


sknn.io.load(sys.argv[1])  # a valid file first: what load imports lazily is imported
soft, hard = resource.getrlimit(resource.RLIMIT_AS)
resource.setrlimit(resource.RLIMIT_AS, (status("VmSize:") * 1024 + 3 * 2**29, hard))
for path in sys.argv[2:]:
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # resets the peak resident size, VmHWM
    before, start = status("VmRSS:"), time.perf_counter()
    try:
        sknn.io.load(path)
        error, message = None, ""
    except BaseException as exc:
        error, message = type(exc).__name__, str(exc)
    seconds, peak_growth = time.perf_counter() - start, status("VmHWM:") - before
    print(json.dumps([path, error, message, seconds, peak_growth / 1024]))
"""


def huge_features(f, n_features):
    """Make the header consistent with a model of ``n_features`` features."""
    f["attributes"].attrs["n_features_in_"] = n_features


def gzip_bomb(f):
    # 4 GiB of zeros, gzip-compressed and every chunk written (about 3 MB on disk).
    n_features = 4 * GiB // 24 + 1
    huge_features(f, n_features)
    del f["attributes/coef_"]
    chunk = (3, 2**17)
    coef = f.create_dataset(
        "attributes/coef_", (3, n_features), "f8", chunks=chunk, compression="gzip"
    )
    compressed = zlib.compress(bytes(3 * 2**17 * 8), 9)
    for start in range(0, n_features, chunk[1]):
        coef.id.write_direct_chunk((0, start), compressed)


def compressed_never_written(f):
    huge_features(f, 4 * GiB // 24 + 1)
    del f["attributes/coef_"]
    f.create_dataset(
        "attributes/coef_", (3, 4 * GiB // 24 + 1), "f8", chunks=(3, 2**17), compression="gzip"
    )


def declared_never_written(f):
    huge_features(f, 4 * GiB // 24 + 1)
    del f["attributes/coef_"]
    f.create_dataset("attributes/coef_", (3, 4 * GiB // 24 + 1), "f8")  # contiguous, unallocated


def hard_link_bomb(f):
    # 40 x 40 x 40 paths to one 64 KiB dataset: 4 GiB if each path were read.
    inner = f.create_group("bomb_inner")
    inner["data"] = np.zeros(2**13)
    for depth in range(2):
        outer = f.create_group(f"bomb_{depth}")
        for i in range(40):
            outer[str(i)] = inner
        inner = outer
    for i in range(40):
        f[f"attributes/bomb_{i}"] = inner


def huge_attribute(f):
    f["attributes"].attrs["extra"] = np.zeros(2**21)  # 16 MiB: stored, refused unread


HOSTILE = {
    "gzip_bomb": (gzip_bomb, "declares 4294967304 bytes but stores"),
    "compressed_never_written": (compressed_never_written, "compressed or was never written"),
    "declared_never_written": (declared_never_written, "compressed or was never written"),
    "hard_link_bomb": (hard_link_bomb, "is an object with several links"),
    "huge_attribute": (huge_attribute, "is an attribute of shape"),
}


def test_hostile_files_are_refused_quickly_in_little_memory(saved, tmp_path):
    paths = {}
    for case, (build, _) in HOSTILE.items():
        paths[case] = tmp_path / f"{case}.h5"
        shutil.copy(saved["linear"], paths[case])
        with h5py.File(paths[case], "r+") as f:
            build(f)
    assert os.path.getsize(paths["compressed_never_written"]) < 2**14
    assert os.path.getsize(paths["gzip_bomb"]) < 2**23
    # And a valid model of about 12 MiB, for the memory a load takes.
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, 5000)), np.arange(30) % 3
    model = make(ShallowNNClassifier, optimizer="adam", hidden_layer_size=100, max_iter=1)
    save(model.fit(X, y), tmp_path / "valid.h5")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    files = [saved["linear"], *paths.values(), tmp_path / "valid.h5"]
    command = [sys.executable, "-c", LIMITED_LOAD, *map(str, files)]
    out = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    *refused, valid = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(refused) == len(HOSTILE)
    for (case, (_, match)), (path, error, message, seconds, growth_mib) in zip(
        HOSTILE.items(), refused
    ):
        print(
            f"{case}: {os.path.getsize(path)} B, {error} in {seconds:.3f} s, +{growth_mib:.1f} MiB"
        )
        assert error == "ValueError", (case, error, message)
        assert f"Cannot load '{path}'" in message and match in message, (case, message)
        assert seconds < 5, case
        assert growth_mib < 64, case
    path, error, message, seconds, growth_mib = valid
    size_mib = os.path.getsize(path) / 2**20
    print(f"valid: {size_mib:.1f} MiB, loaded in {seconds:.3f} s, +{growth_mib:.1f} MiB")
    assert error is None, message
    assert growth_mib < 3 * size_mib


# --- corrupt files ------------------------------------------------------------------


def test_random_byte_flips_never_load_other_predictions(tmp_path):
    X, y = data()
    frame = pd.DataFrame(X, columns=list("abcde"))
    model = make(ShallowNNClassifier, optimizer="adam", class_weight={"kat": 2.0})
    model.fit(frame, LABELS["str"][y])
    base = tmp_path / "model.h5"
    save(model, base)
    content, expected = base.read_bytes(), model.predict_proba(frame)
    rng, path, outcomes = random.Random(0), tmp_path / "flipped.h5", Counter()
    for _ in range(300):
        flipped = bytearray(content)
        for _ in range(rng.choice([1, 1, 2, 4])):
            flipped[rng.randrange(len(content))] ^= rng.randrange(1, 256)
        path.write_bytes(flipped)
        try:
            loaded = load(path)
        except ValueError as error:
            assert f"Cannot load '{path}'" in str(error), error
            outcomes["refused"] += 1
            continue
        assert_array_equal(loaded.predict_proba(frame), expected, strict=True)
        outcomes["loaded alike"] += 1
    print(f"byte flips: {dict(outcomes)}")
    assert outcomes["refused"] > 150, outcomes


def test_truncated_files(saved, tmp_path, monkeypatch):
    content = saved["network"].read_bytes()
    path = tmp_path / "model.h5"
    for length in range(0, len(content), len(content) // 16):
        path.write_bytes(content[:length])
        assert_refused(path, f"Cannot load '{path}'", monkeypatch)


def non_utf8_attribute_name(f):
    space = h5py.h5s.create(h5py.h5s.SCALAR)
    h5py.h5a.create(f["attributes"].id, b"n_iter\xff", h5py.h5t.STD_I64LE, space).write(np.array(1))


def non_utf8_member_name(f):
    f.create_group(b"\xffoptimizer")


@pytest.mark.parametrize("edit", [non_utf8_attribute_name, non_utf8_member_name])
def test_names_that_are_not_utf8(saved, tmp_path, monkeypatch, edit):
    path = tmp_path / "model.h5"
    shutil.copy(saved["linear"], path)
    with h5py.File(path, "r+") as f:
        edit(f)
    assert_refused(path, f"Cannot load '{path}'", monkeypatch)


# --- a failing save leaves the old file as it was -------------------------------------


def failing_after(count, error):
    calls = []

    def write_dataset(*args):
        calls.append(args)
        if len(calls) > count:
            raise error
        return original(*args)

    original = _io_tree._write_dataset
    return write_dataset


def lone_surrogate(model, monkeypatch):
    model.classes_ = np.array(["a", "b", "c\udc80"])
    return ValueError, "not valid Unicode"


def write_error(model, monkeypatch):
    monkeypatch.setattr(_io_tree, "_write_dataset", failing_after(3, OSError("disk full")))
    return OSError, "disk full"


def interrupted_write(model, monkeypatch):
    monkeypatch.setattr(_io_tree, "_write_dataset", failing_after(5, KeyboardInterrupt()))
    return KeyboardInterrupt, None


def sync_error(model, monkeypatch):
    def fsync(fd):
        raise OSError("I/O error")

    monkeypatch.setattr(os, "fsync", fsync)
    return OSError, "I/O error"


def rename_error(model, monkeypatch):
    def replace(source, target):
        raise PermissionError("read-only")

    monkeypatch.setattr(os, "replace", replace)
    return PermissionError, "read-only"


@pytest.mark.parametrize(
    "failure", [lone_surrogate, write_error, interrupted_write, sync_error, rename_error]
)
def test_failed_save_leaves_the_old_file_and_no_temporary(saved, tmp_path, monkeypatch, failure):
    path = tmp_path / "model.h5"
    shutil.copy(saved["linear"], path)
    before = path.read_bytes()
    model = make(SoftmaxGD).fit(*data())
    error, match = failure(model, monkeypatch)
    with pytest.raises(error, match=match):
        save(model, path)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["model.h5"]
    assert path.read_bytes() == before
    load(path)


def test_save_replaces_atomically_keeping_mode_and_links(tmp_path):
    model = make(SoftmaxGD).fit(*data())
    (tmp_path / "probe").touch()
    new_file_mode = os.stat(tmp_path / "probe").st_mode & 0o777
    save(model, tmp_path / "new.h5")
    assert os.stat(tmp_path / "new.h5").st_mode & 0o777 == new_file_mode
    os.chmod(tmp_path / "new.h5", 0o640)
    os.symlink(tmp_path / "new.h5", tmp_path / "link.h5")
    save(make(SoftmaxGD, max_iter=2).fit(*data()), tmp_path / "link.h5")
    assert os.path.islink(tmp_path / "link.h5")
    assert os.stat(tmp_path / "new.h5").st_mode & 0o777 == 0o640
    assert load(tmp_path / "new.h5").n_iter_ == 2
    assert sorted(os.listdir(tmp_path)) == ["link.h5", "new.h5", "probe"]


def test_save_into_a_missing_directory(tmp_path):
    with pytest.raises(FileNotFoundError):
        save(make(SoftmaxGD).fit(*data()), tmp_path / "nope" / "model.h5")
    assert os.listdir(tmp_path) == []
