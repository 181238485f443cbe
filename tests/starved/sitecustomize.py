"""Loaded by ``serve`` processes that test_serve_stop.py starts with this folder on PYTHONPATH.

Once the main thread has printed (the start-up lines), every Python call and return in it
costs ``STARVED_MS`` of busy CPU, as on a machine so loaded that the thread is preempted
all the time: a signal then nearly always lands while it is running Python code.
"""

from __future__ import annotations

import os
import sys
import time
from types import FrameType
from typing import Any

_COST = float(os.environ.get("STARVED_MS", "2")) / 1000
_armed = False


def _profile(frame: FrameType, event: str, arg: Any) -> None:
    global _armed
    if not _armed:
        _armed = event == "c_return" and arg is print
        return
    end = time.perf_counter() + _COST
    while time.perf_counter() < end:
        pass


sys.setprofile(_profile)  # the main thread's only: the server's threads run at full speed
