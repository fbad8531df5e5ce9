"""Private: the one progress display used by ``simulate`` and ``fgrkern reproduce``.

On a terminal (or in a Jupyter notebook) it is a tqdm bar, if tqdm is installed.  Anywhere else (a log
file, a pipe, CI) a bar's carriage-return redraws pile up into one huge line,
so the display writes a plain line at most every ``every`` seconds instead,
plus a last one when done.
"""

from __future__ import annotations

import math
import sys
import time
from typing import IO, Any

__all__ = ["Progress", "have_tqdm", "require_tqdm"]


def have_tqdm() -> bool:
    """Whether the optional tqdm package can be imported."""
    try:
        import tqdm  # noqa: F401
    except ImportError:
        return False
    return True


def require_tqdm() -> None:
    """ImportError with the install hint unless tqdm is available (``progress=True`` asks for it)."""
    if not have_tqdm():
        raise ImportError("progress=True needs tqdm: pip install tqdm (or fgrkern[progress])")


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


class Progress:
    """Progress of ``total`` units on ``stream`` (default: stderr).

    Parameters
    ----------
    total : int
        Units of work in all.
    desc : str
        Prefix of every line.
    enabled : bool
        False: show nothing (``update`` still counts).
    initial : int, optional
        Units already done (a resumed run).
    unit : str, optional
        Name of a unit (for tqdm).
    every : float, optional
        Seconds between plain lines (non-terminals).
    stream : file, optional
        Where to write (default ``sys.stderr`` at construction time).
    """

    def __init__(self, total: int, desc: str, enabled: bool = True, *, initial: int = 0, unit: str = "samples",
                 every: float = 10.0, stream: IO[str] | None = None) -> None:
        self.total, self.done, self.desc, self.enabled = int(total), int(initial), desc, bool(enabled)
        self.every, self.unit = float(every), unit
        self.stream = sys.stderr if stream is None else stream
        if self.stream is None:
            # No stderr at all (fd 2 closed, pythonw, some daemons): nothing to show.
            self.enabled = False
        self.t0 = time.perf_counter()
        self._start = self.done
        self._last = -math.inf
        self._bar: Any = None
        self._closed = False
        # A Jupyter kernel's stderr is no terminal but shows tqdm.auto's widget.
        if self.enabled and (_isatty(self.stream) or (self.stream is sys.stderr and "ipykernel" in sys.modules)):
            try:
                from tqdm.auto import tqdm
            except ImportError:
                pass
            else:
                self._bar = tqdm(total=self.total, initial=self.done, unit=unit, desc=desc, file=self.stream,
                                 smoothing=0.1, dynamic_ncols=True)

    @property
    def uses_tqdm(self) -> bool:
        """True when a tqdm bar is drawn (terminal output)."""
        return self._bar is not None

    def update(self, k: int, what: str = "") -> None:
        """Record ``k`` more units done; ``what`` names the current task."""
        self.done += int(k)
        if not self.enabled:
            return
        if self._bar is not None:
            try:
                if what:
                    self._bar.set_postfix_str(what, refresh=False)
                self._bar.update(k)
            except (OSError, ValueError):
                self.enabled = False  # the terminal went away: the computation goes on
            return
        now = time.perf_counter()
        if now - self._last < self.every and self.done < self.total:
            return
        self._last = now
        self._line(now, what)

    def _line(self, now: float, what: str) -> None:
        el = now - self.t0
        rate = (self.done - self._start) / el if el > 0 else 0.0
        left = f", ~{(self.total - self.done) / rate:.0f} s left" if rate > 0 and self.done < self.total else ""
        pct = 100.0 * self.done / self.total if self.total else 100.0
        label = f"  {what}" if what else ""
        try:
            self.stream.write(f"{self.desc}: {pct:5.1f}% ({self.done}/{self.total}){label}, "
                              f"{rate:.3g} {self.unit}/s, elapsed {el:.0f} s{left}\n")
            self.stream.flush()
        except (OSError, ValueError, AttributeError):
            # A closed, broken or unusable log must not stop a computation.
            self.enabled = False

    def close(self) -> None:
        """Finish the display (idempotent)."""
        if self._closed:
            return
        self._closed = True
        if self._bar is not None:
            try:
                self._bar.close()
            except (OSError, ValueError):
                pass
