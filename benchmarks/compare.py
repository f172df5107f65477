"""Default fits of two sknn checkouts, interleaved: ``python -m benchmarks.compare A B``.

A redesign's before/after check (the performance page's table was taken with it)::

    git worktree add /tmp/before 6731f56
    python -m benchmarks.compare /tmp/before . --rounds 5

Each round runs every case once per checkout, in a fresh process importing that
checkout's sknn, the two in alternating order (a change in the machine's load then
hits both). A process fits 3 times and keeps the fastest (once for the cat images
and 100k rows, whose single fits are memory-bound). Printed per case: the median
time of each checkout over the rounds, the ratio B/A with the range of the
round-by-round ratios, iterations and stop reasons. One BLAS thread. The cat cases
need ``SKNN_DATA_DIR`` (the course's files); without it they are left out, saying so.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

CASES = ("bc:lr", "bc:sm", "digits:lr", "digits:sm", "bc_raw:lr", "cat:lr", "cat:sm")
CASES += ("100k:sm", "digits:nn")

# What one process runs: its checkout's sknn, one case, the fastest of `repeats` fits.
_FIT = r"""
import json, sys, time, warnings
import numpy as np
from threadpoolctl import threadpool_limits
from sklearn.datasets import load_breast_cancer, load_digits, make_classification
from sklearn.preprocessing import StandardScaler
from sknn import LogisticRegressionGD, ShallowNNClassifier, SoftmaxGD

data, model, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3])
warnings.simplefilter("ignore")
if data == "cat":
    from sknn.datasets import load_h5
    X, y = load_h5(sys.argv[4], return_X_y=True)
    X = X / 255.0
elif data == "100k":
    X, y = make_classification(n_samples=100_000, n_features=50, n_informative=20,
                               n_classes=3, random_state=0)
    X = StandardScaler().fit_transform(X)
else:
    loader = load_digits if data == "digits" else load_breast_cancer
    X, y = loader(return_X_y=True)
    X = X if data == "bc_raw" else StandardScaler().fit_transform(X)
Estimator = {"lr": LogisticRegressionGD, "sm": SoftmaxGD, "nn": ShallowNNClassifier}[model]
times = []
with threadpool_limits(1, "blas"):
    for _ in range(repeats):
        start = time.perf_counter()
        fitted = Estimator(random_state=0).fit(X, y)
        times.append(time.perf_counter() - start)
print(json.dumps({"time": min(times), "n_iter": fitted.n_iter_, "stop": fitted.stop_reason_}))
"""


def fit_once(checkout, case, cat_file):
    """One process of ``checkout``'s sknn fitting ``case``: ``{"time", "n_iter", "stop"}``."""
    data, model = case.split(":")
    repeats = 1 if data in ("cat", "100k") else 3
    env = {**os.environ, "PYTHONPATH": os.path.abspath(checkout), "OPENBLAS_NUM_THREADS": "1"}
    args = [sys.executable, "-c", _FIT, data, model, str(repeats), cat_file or ""]
    done = subprocess.run(args, capture_output=True, text=True, env=env, cwd=checkout)
    if done.returncode:
        raise SystemExit(f"{case} failed in {checkout}:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def compare(before, after, cases, rounds, cat_file=None):
    """Rows ``(case, before's median, after's median, ratios)`` of interleaved rounds."""
    rows = []
    for case in cases:
        runs = {before: [], after: []}
        for round_ in range(rounds):
            order = (before, after) if round_ % 2 == 0 else (after, before)
            for checkout in order:
                runs[checkout].append(fit_once(checkout, case, cat_file))
        ratios = [b["time"] / a["time"] for a, b in zip(runs[before], runs[after])]
        medians = [statistics.median(run["time"] for run in runs[c]) for c in (before, after)]
        rows.append((case, *medians, ratios, runs[before][0], runs[after][0]))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.compare", description=__doc__)
    parser.add_argument("before", help="a checkout of sknn (a directory holding sknn/)")
    parser.add_argument("after", help="another checkout")
    parser.add_argument("--cases", default=",".join(CASES), help="data:model, comma-separated")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    cases = args.cases.split(",")
    data_dir = os.environ.get("SKNN_DATA_DIR")
    cat_file = data_dir and os.path.join(data_dir, "train_catvnoncat.h5")
    if not (cat_file and os.path.isfile(cat_file)):
        left_out = [case for case in cases if case.startswith("cat:")]
        cases = [case for case in cases if case not in left_out]
        if left_out:
            print(f"left out {', '.join(left_out)}: set SKNN_DATA_DIR to the course's files")
    for case, before, after, ratios, first_a, first_b in compare(
        args.before, args.after, cases, args.rounds, cat_file
    ):
        print(
            f"{case:10s} {before * 1e3:8.1f} ms vs {after * 1e3:8.1f} ms = "
            f"{after / before:.2f}x ({min(ratios):.2f}x - {max(ratios):.2f}x), iterations "
            f"{first_a['n_iter']} vs {first_b['n_iter']}, {first_a['stop']} vs {first_b['stop']}"
        )


if __name__ == "__main__":
    main()
