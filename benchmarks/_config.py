"""Run configuration shared by every section: mode, data location, progress."""

import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

#: The modes a run can take; every section keeps one size preset per mode.
MODES = ("full", "quick", "tiny")

REPO_ROOT = Path(__file__).resolve().parents[1]


def default_data_dir():
    """Where the course's cat files are looked for.

    Returns
    -------
    path : Path
        ``$SKNN_DATA_DIR`` when set, else ``<repo>/../shared/datasets``.
    """
    env = os.environ.get("SKNN_DATA_DIR")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "datasets"


@dataclass
class Config:
    """What a section needs to know about the run.

    Parameters
    ----------
    mode : {'full', 'quick', 'tiny'}
        'full' is the real benchmark, 'quick' the CI smoke run, 'tiny' a
        seconds-long run for the test suite (not a measurement).
    data_dir : Path
        Directory holding ``train_catvnoncat.h5`` / ``test_catvnoncat.h5``.
    verbose : bool
        Print progress lines to stderr.
    """

    mode: str = "full"
    data_dir: Path = field(default_factory=default_data_dir)
    verbose: bool = True
    _start: float = field(default_factory=time.perf_counter, repr=False)

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")

    def pick(self, presets):
        """The entry of ``presets`` (a dict keyed by mode) for this run."""
        return presets[self.mode]

    def progress(self, message):
        """Print one progress line to stderr, stamped with the elapsed time."""
        if self.verbose:
            elapsed = time.perf_counter() - self._start
            print(f"[{elapsed:7.1f} s] {message}", file=sys.stderr, flush=True)
