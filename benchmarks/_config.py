"""Run configuration shared by every section: mode, data location, progress."""

import os
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

#: The modes a run can take; every section keeps one size preset per mode.
MODES = ("full", "quick", "tiny")

REPO_ROOT = Path(__file__).resolve().parents[1]

#: The environment variable naming the directory of the course's cat files.
DATA_DIR_VARIABLE = "SKNN_DATA_DIR"

#: Throttled progress lines (:meth:`Config.tick`) are at least this many seconds apart.
TICK_SECONDS = 3.0
#: After this many silent seconds (one long fit under load), :meth:`Config.heartbeat`
#: repeats the last line, so that progress is shown at least every ~10 s.
HEARTBEAT_SECONDS = 8.0


def default_data_dir():
    """Where the course's cat files are looked for.

    Returns
    -------
    path : Path or None
        ``$SKNN_DATA_DIR``, or None when it is not set: the run then uses a
        generated stand-in and says so everywhere the data is named. There is
        no guessed default, so a run finds the course's files only when told
        where they are.
    """
    env = os.environ.get(DATA_DIR_VARIABLE)
    return Path(env) if env else None


@dataclass
class Config:
    """What a section needs to know about the run.

    Parameters
    ----------
    mode : {'full', 'quick', 'tiny'}
        'full' is the real benchmark, 'quick' the CI smoke run, 'tiny' a
        seconds-long run for the test suite (not a measurement).
    data_dir : Path or None
        Directory holding ``train_catvnoncat.h5`` / ``test_catvnoncat.h5``.
    verbose : bool
        Print progress lines to stderr.
    """

    mode: str = "full"
    data_dir: Path = field(default_factory=default_data_dir)
    verbose: bool = True
    _start: float = field(default_factory=time.perf_counter, repr=False)
    _last_line: float = field(default=float("-inf"), repr=False)
    _last_message: str = field(default="", repr=False)
    _last_message_at: float = field(default=0.0, repr=False)

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")

    def pick(self, presets):
        """The entry of ``presets`` (a dict keyed by mode) for this run."""
        return presets[self.mode]

    def progress(self, message):
        """Print one progress line to stderr, stamped with the elapsed time."""
        self._last_message, self._last_message_at = message, time.perf_counter()
        self._print(message)

    def tick(self, message):
        """Print a progress line unless one was printed in the last :data:`TICK_SECONDS`.

        For events that come in fast bursts or slow trickles (each timed call,
        each calibration): a line every few seconds, never a wall of them.
        """
        if time.perf_counter() - self._last_line >= TICK_SECONDS:
            self.progress(message)

    @contextmanager
    def heartbeat(self):
        """While the block runs, break any silence of :data:`HEARTBEAT_SECONDS`.

        A daemon thread that sleeps but for a check once a second; when a single
        step (one fit under load) runs long, it says what is still running. Its
        rare lines cost microseconds, far below the timing noise.
        """
        stop = threading.Event()

        def beat():
            while not stop.wait(1.0):
                now = time.perf_counter()
                if now - self._last_line >= HEARTBEAT_SECONDS:
                    since = now - self._last_message_at
                    self._print(f"still running, {since:.0f} s after: {self._last_message}")

        thread = threading.Thread(target=beat, name="benchmarks-heartbeat", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def _print(self, message):
        now = time.perf_counter()
        self._last_line = now
        if self.verbose:
            print(f"[{now - self._start:7.1f} s] {message}", file=sys.stderr, flush=True)
