"""Command line: ``python -m benchmarks [--quick] [--sections a,b] [--output DIR] [--json]``."""

import argparse
import os
import shlex
import sys
import time
import traceback
import warnings

from . import SECTIONS
from ._config import DATA_DIR_VARIABLE, Config
from ._data import CAT_FILES, CAT_SHAPE, STAND_IN_NAME, cat_label, cat_source
from ._render import write_report
from ._report import Section
from ._timing import MachineLoad


def parse_args(argv=None):
    """Parse the command line.

    Parameters
    ----------
    argv : list of str or None
        Defaults to ``sys.argv[1:]``.

    Returns
    -------
    args : argparse.Namespace
    """
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=(
            "Benchmark sknn: vectorized estimators against the course's loops, "
            "scikit-learn peers, the hardware's peak, growing data and out-of-core "
            "training from a generated HDF5 file (>= 2 GiB in a full run). Writes a "
            "markdown report with PNG plots. Timings are medians of interleaved "
            "repeats; targets missed do not change the exit status."
        ),
        epilog=(
            f"The course's cat images: set {DATA_DIR_VARIABLE} to the directory holding "
            f"{' and '.join(CAT_FILES)}, e.g. `{DATA_DIR_VARIABLE}=~/course/datasets "
            f"python -m benchmarks`. Without it the run uses a {STAND_IN_NAME} "
            f"({CAT_SHAPE[0]} x {CAT_SHAPE[2]}) instead, and every table, plot and the "
            "JSON say so."
        ),
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run on small sizes (the whole suite in under a minute); not a measurement",
    )
    # Seconds-long run for the test suite.
    parser.add_argument("--tiny", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--output",
        default="bench-report",
        metavar="DIR",
        help="directory for report.md, the PNGs and results.json (default: %(default)s)",
    )
    parser.add_argument(
        "--json", action="store_true", help="also write results.json with every figure"
    )
    parser.add_argument(
        "--sections",
        metavar="A,B",
        type=_section_list,
        help=f"comma-separated sections to run (default: all of {', '.join(SECTIONS)})",
    )
    parser.add_argument("--list", action="store_true", help="list the sections and exit")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    return parser.parse_args(argv)


def _section_list(text):
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in SECTIONS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown section(s) {', '.join(unknown) or '(none given)'}; "
            f"choose from {', '.join(SECTIONS)}"
        )
    return names


def main(argv=None):
    """Run the selected sections and write the report.

    Returns
    -------
    status : int
        0, or 1 when a section raised (the report then shows its traceback).
    """
    args = parse_args(argv)
    if args.list:
        for name, module in SECTIONS.items():
            print(f"{name:15s} {module.TITLE}")
        return 0
    mode = "tiny" if args.tiny else "quick" if args.quick else "full"
    config = Config(mode=mode, verbose=not args.quiet)
    load_average = os.getloadavg() if hasattr(os, "getloadavg") else None
    names = args.sections or list(SECTIONS)
    start = time.perf_counter()
    with config.heartbeat():
        sections = [_run_section(SECTIONS[name], config) for name in names]
    run = {
        "mode": mode,
        "command": "python -m benchmarks " + shlex.join(sys.argv[1:] if argv is None else argv),
        "sections": names,
        "cat_source": cat_source(config),
        "cat_data": cat_label(config),
        "load_average_at_start": load_average,
        "duration": time.perf_counter() - start,
    }
    paths = write_report(sections, run, args.output, write_json=args.json)
    config.progress(f"wrote {', '.join(str(p) for p in paths)}")
    _print_summary(sections, paths[0])
    return 1 if any(s.error for s in sections) else 0


def _run_section(module, config):
    """Run one section; a failure becomes a report entry instead of ending the run."""
    config.progress(f"{module.NAME}: start")
    load = MachineLoad()
    try:
        with warnings.catch_warnings():
            # Fixed-length fits warn by design (no convergence in max_iter).
            warnings.simplefilter("ignore", category=UserWarning)
            section = module.run(config)
    except Exception:  # noqa: BLE001 - reported, and reflected in the exit status
        traceback.print_exc()
        section = Section(module.NAME, module.TITLE, "", error=traceback.format_exc())
    section.load = load.stop()
    config.progress(f"{module.NAME}: done")
    return section


def _print_summary(sections, report):
    targets = [t for s in sections for t in s.targets]
    print(f"Report: {report}")
    for target in targets:
        print(
            f"  {target.status:16s} {target.name}: {target.measured:.3g} "
            f"(target {target.comparison} {target.threshold:g})"
            + (f"; {target.not_measured}" if target.not_measured else "")
        )
    for section in sections:
        if section.error:
            print(f"  FAILED section {section.name}")


if __name__ == "__main__":
    sys.exit(main())
