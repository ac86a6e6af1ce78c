"""The progress bar ``fit`` and ``evaluate`` print, in Keras 2's format (the tutorial's line)::

    Epoch 1/5
    60000/60000 [==============================] - 1s 15us/step - loss: 2.1822 - accuracy: 0.2916

In a terminal the line is redrawn in place (at most every ``interval`` seconds, so drawing costs
nothing next to training). When the output is a file or a pipe, only the finished line is printed:
a log then holds one line per epoch, not thousands of carriage returns. ``verbose=2`` prints
``- 1s - loss: ...`` once per epoch, like Keras.
"""

import sys
import time

import numpy as np


def _format_value(value):
    """A logged value as the bar shows it; a vector (a metric's value at several thresholds) shows
    as its mean, as in Keras."""
    value = float(np.mean(value))
    return f" {value:.4f}" if abs(value) > 1e-3 else f" {value:.4e}"


class Progbar:
    """A progress bar counting up to ``target`` (samples, in Keras 2's ``fit``).

    ``update(current, values)`` redraws it; ``values`` is a list of ``(name, value)`` pairs already
    averaged by the caller. ``due(current)`` tells the caller whether a redraw would show, so it can
    skip computing ``values`` otherwise.
    """

    def __init__(self, target, width=30, verbose=1, interval=0.05, stream=None):
        self.target = target
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.stream = stream or sys.stdout
        isatty = getattr(self.stream, "isatty", None)
        # A notebook's output is no terminal, but it does redraw a line on a carriage return.
        in_notebook = type(self.stream).__module__.startswith("ipykernel")
        self.dynamic = bool(isatty and isatty()) or in_notebook
        self.start = time.perf_counter()
        self.last_update = 0.0
        self.drawn_width = 0

    def due(self, current):
        """True if ``update(current, ...)`` would draw something now."""
        if current >= self.target:
            return True
        if self.verbose != 1 or not self.dynamic:
            return False
        return time.perf_counter() - self.last_update >= self.interval

    def update(self, current, values=()):
        if not self.due(current):
            return
        now = time.perf_counter()
        self.last_update = now
        elapsed = now - self.start
        metrics = "".join(f" - {name}:{_format_value(value)}" for name, value in values)
        if self.verbose == 2:
            self.stream.write(f" - {elapsed:.0f}s{metrics}\n")
            self.stream.flush()
            return
        digits = len(str(self.target))
        bar = f"{current:{digits}d}/{self.target} [{self._bar(current)}]"
        per_step = elapsed / current if current else 0.0
        if current < self.target:
            info = f" - ETA: {self._eta(per_step * (self.target - current))}"
        else:
            info = f" - {elapsed:.0f}s {self._per_step(per_step)}"
        line = bar + info + metrics
        if self.dynamic:
            padding = " " * max(0, self.drawn_width - len(line))
            self.stream.write("\r" + line + padding)
            self.drawn_width = len(line)
        else:
            self.stream.write(line)
        if current >= self.target:
            self.stream.write("\n")
        self.stream.flush()

    def _bar(self, current):
        filled = int(self.width * current / self.target)
        if filled == 0:
            return "." * self.width
        head = "=" if current >= self.target else ">"
        return "=" * (filled - 1) + head + "." * (self.width - filled)

    @staticmethod
    def _eta(seconds):
        seconds = int(seconds)  # whole seconds, cut down as Keras does (119.7 s is 1:59)
        if seconds > 3600:
            return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
        if seconds > 60:
            return f"{seconds // 60}:{seconds % 60:02d}"
        return f"{seconds}s"

    @staticmethod
    def _per_step(seconds):
        if seconds >= 1:
            return f"{seconds:.0f}s/step"
        if seconds >= 1e-3:
            return f"{seconds * 1e3:.0f}ms/step"
        return f"{seconds * 1e6:.0f}us/step"
