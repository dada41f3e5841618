"""The CRI container log format (pure): ``<RFC3339Nano UTC> <stream> <P|F> <content>`` per line.

A line longer than ``max_line`` or a chunk without its newline yet is written as ``P`` (partial) records; the
record that ends the line is ``F`` (full). Timestamps always carry nine fractional digits.
"""

from __future__ import annotations

import time


def timestamp(ns: int) -> str:
    secs, frac = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{frac:09d}Z"


def record(ns: int, stream: str, tag: str, content: bytes) -> bytes:
    return f"{timestamp(ns)} {stream} {tag} ".encode() + content + b"\n"


class LineSplitter:
    """Feeds raw output bytes; returns finished records. Keeps the unfinished tail until flush()."""

    def __init__(self, stream: str, max_line: int = 16 * 1024) -> None:
        self.stream = stream
        self.max_line = max_line
        self.buf = b""

    def feed(self, data: bytes, ns: int) -> list[bytes]:
        self.buf += data
        out = []
        while True:
            nl = self.buf.find(b"\n", 0, self.max_line + 1)
            if nl >= 0:
                out.append(record(ns, self.stream, "F", self.buf[:nl]))
                self.buf = self.buf[nl + 1:]
            elif len(self.buf) > self.max_line:
                out.append(record(ns, self.stream, "P", self.buf[:self.max_line]))
                self.buf = self.buf[self.max_line:]
            else:
                return out

    def flush(self, ns: int) -> list[bytes]:
        """The tail of a stream that ended without a newline: one partial record (as CRI runtimes do)."""
        if not self.buf:
            return []
        out = [record(ns, self.stream, "P", self.buf)]
        self.buf = b""
        return out


def parse(line: bytes) -> tuple[str, str, str, bytes]:
    """(timestamp, stream, tag, content) of one record without its newline."""
    ts, stream, tag, content = line.split(b" ", 3)
    return ts.decode(), stream.decode(), tag.decode(), content
