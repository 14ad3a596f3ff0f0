"""What a long pip step is doing, told from pip's own output lines, at most once per interval.

In a CI log pip-lambda shows one line per step, so a five-minute download
would be five silent minutes.  pip's output passes through pip-lambda
(pip/run.py, credentials already masked); this reads it as it streams, and
once ``every`` seconds have passed since the step began or since the last
progress line, says what pip is on and how far it got: requirements
collected, files fetched (downloaded or from pip's cache) and their size.  Time comes from the caller, so
the interval is tested without sleeping.
"""

from __future__ import annotations

import re
import threading

EVERY_SECONDS = 30.0
"""A progress line at least this often while pip runs (checked each second, and at each line pip prints)."""

_COLLECTING = re.compile(r"^Collecting (\S+)")
_FETCHING = re.compile(
    r"^\s*(Downloading|Using cached|Resuming download) (\S+)(?: \((?:[\d.]+ \w+/)?([\d.]+) (bytes|kB|MB|GB)\))?"
)
_PROCESSING = re.compile(r"^Processing (\S+)")
_INSTALLING = re.compile(r"^Installing collected packages: (.*)$")
_BUILDING = re.compile(r"^\s*Building wheel for (\S+)")
_UNITS = {"bytes": 1.0, "kB": 1e3, "MB": 1e6, "GB": 1e9}
_VERBS = {"Downloading": "downloading", "Using cached": "using cached", "Resuming download": "resuming the download of"}


def _size(size: float) -> str:
    return f"{size / 1e6:.1f} MB"


def _duration(seconds: float) -> str:
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m{rest:02d}s" if minutes else f"{rest}s"


class Progress:
    """pip's state as its output tells it; :meth:`due` gives a line when one is due."""

    def __init__(self, started: float, every: float = EVERY_SECONDS) -> None:
        self._started = started
        self._last = started
        self._every = every
        self._collected = 0
        self._fetched = 0
        self._bytes = 0.0
        self._doing = "starting"
        self._lock = threading.Lock()  # fed by the thread reading pip's output, asked by the ticking one

    def feed(self, line: str) -> None:
        """Take one line of pip's output (already masked)."""
        with self._lock:
            self._take(line)

    def _take(self, line: str) -> None:
        if match := _COLLECTING.match(line):
            self._collected += 1
            self._doing = f"collecting {match[1]}"
        elif match := _FETCHING.match(line):
            name = match[2].rsplit("/", 1)[-1]
            size = f" ({match[3]} {match[4]})" if match[3] else ""
            self._doing = f"{_VERBS[match[1]]} {name}{size}"
            if name.endswith(".metadata"):
                return  # pip reads a wheel's metadata before the wheel: not a file of the package
            self._fetched += 1
            if match[3]:
                self._bytes += float(match[3]) * _UNITS[match[4]]
        elif match := _PROCESSING.match(line):
            self._doing = f"processing {match[1].rsplit('/', 1)[-1]}"
        elif match := _INSTALLING.match(line):
            count = len([name for name in match[1].split(",") if name.strip()])
            self._doing = f"installing {count} distribution{'s' if count != 1 else ''}"
        elif match := _BUILDING.match(line):
            self._doing = f"building a wheel for {match[1]}"

    def due(self, now: float) -> str | None:
        """The progress line, when ``every`` seconds have passed since the last one (or the start); else None."""
        with self._lock:
            if now - self._last < self._every:
                return None
            self._last = now
            done = f"{self._collected} requirements collected, {self._fetched} files fetched ({_size(self._bytes)})"
            return f"pip, {_duration(now - self._started)} in: {self._doing}; {done}"
