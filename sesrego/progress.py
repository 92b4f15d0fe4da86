"""Progress on standard error while a scan runs: the stage, how far it is, and the time elapsed.

Shown only when standard error is a terminal (never in a log or a pipe) and not with ``--quiet``,
and only once a scan has run for :data:`DELAY` seconds, so quick scans print nothing. One line,
rewritten in place about once a second (so a single large plan, evaluated in one piece, still
shows its time passing), and erased when the scan ends, before the report is printed::

    sesrego: evaluating plan.json in 2 parts: 1 of 2 done, 6.1 s
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import TextIO

from .errors import printable

#: Seconds before the first progress line is drawn.
DELAY = 1.0
#: Seconds between redraws.
INTERVAL = 1.0


def stderr_is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


class Progress:
    """A stage line that redraws itself from a background thread (see the module docstring)."""

    def __init__(self, stream: TextIO, *, delay: float = DELAY, interval: float = INTERVAL, clock=time.monotonic,
                 columns: int | None = None):
        self.stream = stream
        self.delay = delay
        self.interval = interval
        self.clock = clock
        self.start = clock()
        self.text = "scanning"
        self.total = 0
        self.done = 0
        self.width = 0
        self.columns = columns  # the terminal's width (None: asked when drawing)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Progress:
        self._thread = threading.Thread(target=self._run, name="sesrego-progress", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def stage(self, text: str, total: int = 0) -> None:
        with self._lock:
            self.text, self.total, self.done = text, total, 0

    def advance(self, units: int = 1) -> None:
        with self._lock:
            self.done += units

    def line(self) -> str:
        """The progress line as it stands."""
        with self._lock:
            counted = f": {self.done} of {self.total} done" if self.total > 1 else ""
            return printable(f"sesrego: {self.text}{counted}, {self.clock() - self.start:.1f} s")

    def draw(self) -> None:
        # Never as wide as the terminal: a line that wraps cannot be rewritten or erased with \r.
        text = self.line()[:max(10, self._columns() - 1)]
        pad = max(0, self.width - len(text))
        self.stream.write("\r" + text + " " * pad)
        self.stream.flush()
        self.width = len(text)

    def _columns(self) -> int:
        if self.columns is not None:
            return self.columns
        try:
            return os.get_terminal_size(self.stream.fileno()).columns
        except (AttributeError, ValueError, OSError):
            return 80

    def _run(self) -> None:
        if self._stop.wait(self.delay):
            return
        while not self._stop.is_set():
            self.draw()
            self._stop.wait(self.interval)

    def close(self) -> None:
        """Stop redrawing and erase the line."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self.width:
            self.stream.write("\r" + " " * self.width + "\r")
            self.stream.flush()
            self.width = 0
