"""Opening a video source with OpenCV, in this process or in a child process of its own.

FFmpeg decodes in native code: a corrupt stream can crash it (SIGSEGV) or hang it. With one
camera per process that costs one camera; with several cameras in threads of one process
(CROWDSAFE_CAMERAS_PER_PROCESS > 1) it would take them all down. `ChildCapture` runs the
capture in a spawned child and answers the VideoCapture calls the readers make, so a crash or
a hang becomes a `DecoderFailed` error on that camera alone (the live reader reconnects, a
file camera reports it), and the other cameras go on. Cost: about 65 MB resident and one
frame copy through a pipe (about 1 ms for 720p) per decoded frame.

Django-free (the child imports only this module, OpenCV and NumPy).
"""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import cv2

# Answers carry frames; anything slower than the source's own time limit plus this is a hang.
HANG_MARGIN_S = 10.0


# The child's program: this module from this checkout (not the working directory's).
CHILD = (
    f"import sys; sys.path[0] = {str(Path(__file__).resolve().parents[1])!r}; "
    "from multiprocessing.connection import Connection; from cameras.capture import _serve; "
    "_serve(Connection(int(sys.argv[1])))"
)


class DecoderFailed(RuntimeError):
    """The decoding child crashed, hung or is gone."""


def open_video(target: int | str, timeout_s: float) -> cv2.VideoCapture:
    """Open a source with FFmpeg's open/read time limits (a dead host never blocks for minutes)."""
    ms = int(max(timeout_s, 0.5) * 1000)
    params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms]
    if isinstance(target, int):
        return cv2.VideoCapture(target, cv2.CAP_ANY, params)
    return cv2.VideoCapture(target, cv2.CAP_FFMPEG, params)


def _serve(conn: Connection) -> None:
    """The child: one VideoCapture, driven call by call until "release" or a closed socket."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C goes to the worker, which releases us
    target, timeout_s = conn.recv()  # by the socket, never argv: a URL may carry a password
    cap = open_video(target, timeout_s)
    try:
        while True:
            try:
                op, args = conn.recv()
            except EOFError:  # the camera's process is gone
                return
            if op == "release":
                conn.send(("ok", None))
                return
            try:
                conn.send(("ok", getattr(cap, op)(*args)))
            except Exception as exc:  # noqa: BLE001 - OpenCV errors go back to the caller
                conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        cap.release()


class ChildCapture:
    """The subset of cv2.VideoCapture the readers use, served by a child process.

    A plain subprocess running `_serve`, not multiprocessing: Celery's prefork children are
    daemonic and may not start multiprocessing children, and nothing is forked from a process
    that holds threads.
    """

    CALLS = frozenset({"isOpened", "get", "set", "grab", "retrieve", "read"})

    def __init__(self, target: int | str, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        ours, theirs = socket.socketpair()
        with theirs:
            self.process = subprocess.Popen(
                [sys.executable, "-c", CHILD, str(theirs.fileno())], pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
            )
        self._conn = Connection(ours.detach())
        self.failure: str | None = None
        self._conn.send((target, timeout_s))

    @property
    def pid(self) -> int:
        return self.process.pid

    def _call(self, op: str, *args: Any) -> Any:
        if self.failure:
            raise DecoderFailed(self.failure)
        # The first call also waits for the child to start and open the source.
        limit = self.timeout_s * 2 + HANG_MARGIN_S
        try:
            self._conn.send((op, args))
            if not self._conn.poll(limit):
                self.process.kill()
                self._fail(f"the decoder hung (no answer in {limit:g} s) and was stopped")
            status, value = self._conn.recv()
        except (EOFError, OSError):
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(2)
            self._fail(f"the decoder crashed ({_exit_reason(self.process.returncode)})")
        if status == "error":
            raise DecoderFailed(f"decoder error: {value}")
        return value

    def _fail(self, message: str) -> None:
        self.failure = message[0].upper() + message[1:] + "."
        raise DecoderFailed(self.failure)

    def __getattr__(self, name: str):
        if name in self.CALLS:
            return lambda *args: self._call(name, *args)
        raise AttributeError(name)

    def release(self) -> None:
        if self.failure is None and self.process.poll() is None:
            with contextlib.suppress(EOFError, OSError):
                self._conn.send(("release", ()))
                if self._conn.poll(5):
                    self._conn.recv()
        self._conn.close()  # a child still reading sees the end of its socket and leaves
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


def _exit_reason(code: int | None) -> str:
    if code is None:
        return "still running"
    if code < 0:
        try:
            return signal.Signals(-code).name
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"

