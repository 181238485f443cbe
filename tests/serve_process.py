"""Run ``pytest-logscale serve`` as a real subprocess, the way clients in other languages do."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from types import TracebackType

SERVE = [sys.executable, "-m", "pytest_logscale", "serve"]
NAMES = ("LOGSCALE_URL", "LOGSCALE_TOKEN", "LOGSCALE_ADMIN_TOKEN", "LOGSCALE_MEMBER_TOKEN")
STARTUP_SECONDS = 60


class ServeProcess:
    """``pytest-logscale serve`` with arguments; ``lines`` holds the four lines it printed."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.args = [*SERVE, *args]
        self.extra_env = env or {}
        self.process: subprocess.Popen[bytes] | None = None
        self.lines: list[str] = []

    @property
    def values(self) -> dict[str, str]:
        """The printed lines as a mapping: LOGSCALE_URL to its value, and so on."""
        return dict(line.split("=", 1) for line in self.lines)

    @property
    def url(self) -> str:
        return self.values["LOGSCALE_URL"]

    def start(self) -> ServeProcess:
        # without PYTHONUNBUFFERED, so the test proves that the command flushes its lines
        env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"} | self.extra_env
        self.process = subprocess.Popen(
            self.args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
        )
        self.lines = read_lines(self.process, len(NAMES))
        return self

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        """Send a signal and return the exit status (killing it if it hangs)."""
        process = self.process
        if process is None:
            raise RuntimeError("not started")
        if process.poll() is None:
            process.send_signal(sig)
            try:
                process.wait(timeout=STARTUP_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                raise
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
        return process.returncode

    def __enter__(self) -> ServeProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            self.process.wait()
            self.stop()


def read_lines(process: subprocess.Popen[bytes], count: int) -> list[str]:
    """Read ``count`` stdout lines, failing with stderr if the process dies or stalls first."""
    assert process.stdout is not None and process.stderr is not None
    # raw reads of the pipe: a buffered reader could hold lines the selector never reports
    fd = process.stdout.fileno()
    data = b""
    deadline = time.monotonic() + STARTUP_SECONDS
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while data.count(b"\n") < count:
            left = deadline - time.monotonic()
            if left <= 0 or not selector.select(left):
                process.kill()
                raise AssertionError(f"serve printed only {data!r} in {STARTUP_SECONDS} s")
            chunk = os.read(fd, 4096)
            if not chunk:
                process.wait()
                stderr = process.stderr.read().decode(errors="replace")
                raise AssertionError(f"serve exited {process.returncode}: {stderr}")
            data += chunk
    return data.decode().splitlines()


def run_serve(
    args: Sequence[str], timeout: float = STARTUP_SECONDS
) -> subprocess.CompletedProcess[str]:
    """Run serve with arguments it should refuse, to completion."""
    return subprocess.run(
        [*SERVE, *args], capture_output=True, text=True, timeout=timeout, check=False
    )
