"""Command line: ``python -m benchmarks [--full | --quick] [--sections A,B] [--json] ...``."""

import argparse
import os
import shlex
import sys
import time
import traceback
import warnings

from . import SECTIONS
from ._core import DATA_DIR, Config, MachineLoad, Section
from ._data import CAT_FILES, CAT_SHAPE, STAND_IN, cat_label, cat_source
from ._report import write_report


def parse_args(argv=None):
    """Parse the command line (``sys.argv[1:]`` when ``argv`` is None)."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=(
            "Benchmark sknn against the course's loops, scikit-learn's classifiers, the "
            "machine's peak, PyTorch tensors, growing data, out-of-core and Dask training, "
            "and the exact optimum. Writes a markdown report with PNG plots. The default "
            "run takes about 3 minutes on a quiet 2-core machine (more under load) and "
            "writes temporary HDF5 files of at most 500 MB. Timings are medians of "
            "interleaved rounds; missed targets do not change the exit status."
        ),
        epilog=(
            f"The course's cat images: set {DATA_DIR} to the directory holding "
            f"{' and '.join(CAT_FILES)}. Without it a {STAND_IN} ({CAT_SHAPE[0]} x "
            f"{CAT_SHAPE[2]}) takes their place, and the report says so wherever it is named. "
            "The devices section needs PyTorch (pip install torch==2.13.0), the distributed "
            'section the dask extra (pip install -e ".[bench,dask]"); without them they '
            "are skipped, saying so."
        ),
    )
    size = parser.add_mutually_exclusive_group()
    full_help = "the largest sizes (~10 minutes, 3.5 GB of memory, a 2 GiB temporary HDF5 file)"
    size.add_argument("--full", action="store_true", help=full_help)
    size.add_argument("--quick", action="store_true", help="smoke run, small sizes (< 1 minute)")
    size.add_argument("--tiny", action="store_true", help=argparse.SUPPRESS)  # the tests'
    parser.add_argument(
        "--sections",
        metavar="A,B",
        type=_section_list,
        help=f"comma-separated sections to run (default: all of {', '.join(SECTIONS)})",
    )
    parser.add_argument("--list", action="store_true", help="list the sections and exit")
    parser.add_argument(
        "--output",
        default="bench-report",
        metavar="DIR",
        help="directory for report.md, the PNGs and results.json (default: %(default)s)",
    )
    parser.add_argument("--json", action="store_true", help="also write results.json")
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
        0, or 1 when a section raised (its traceback is then in the report).
    """
    args = parse_args(argv)
    if args.list:
        for name, module in SECTIONS.items():
            print(f"{name:15s} {module.TITLE}")
        return 0
    mode = "full" if args.full else "quick" if args.quick else "tiny" if args.tiny else "default"
    config = Config(mode=mode, verbose=not args.quiet)
    load_average = os.getloadavg() if hasattr(os, "getloadavg") else None
    start = time.perf_counter()
    with config.heartbeat():
        sections = [_run_section(SECTIONS[name], config) for name in args.sections or SECTIONS]
    run = {
        "mode": mode,
        "command": shlex.join(
            ["python", "-m", "benchmarks", *(sys.argv[1:] if argv is None else argv)]
        ),
        "cat_data": cat_label(config),
        "cat_source": cat_source(config),
        "load_average": load_average,
        "duration": time.perf_counter() - start,
    }
    paths = write_report(sections, run, args.output, write_json=args.json)
    config.progress(f"wrote {', '.join(str(p) for p in paths)}")
    _print_summary(sections, paths[0])
    return 1 if any(s.error for s in sections) else 0


def _run_section(module, config):
    """Run one section; an exception becomes a report entry instead of ending the run."""
    config.progress(f"{module.NAME}: start")
    load = MachineLoad()
    try:
        with warnings.catch_warnings():
            # Fixed-length fits warn by design; sections that count warnings record them.
            warnings.simplefilter("ignore", UserWarning)
            section = module.run(config)
    except Exception:  # noqa: BLE001 - reported, and reflected in the exit status
        traceback.print_exc()
        section = Section(module.NAME, module.TITLE, error=traceback.format_exc())
    section.load = load.stop()
    if section.skipped:
        config.progress(f"{module.NAME}: SKIPPED: {_skip_line(section)}")
    config.progress(f"{module.NAME}: done")
    return section


def _skip_line(section):
    return f"{section.skipped} Include it with: {section.command}"


def _print_summary(sections, report):
    print(f"Report: {report}")
    for target in (t for s in sections for t in s.targets):
        goal = f"{target.comparison} {target.threshold:g}"
        print(f"  {target.status:13s} {target.name}: {target.shown} (goal {goal})")
    for section in sections:
        if section.skipped:
            print(f"  SKIPPED section {section.name}: {_skip_line(section)}")
        if section.error:
            print(f"  FAILED section {section.name} (traceback in the report)")


if __name__ == "__main__":
    sys.exit(main())
