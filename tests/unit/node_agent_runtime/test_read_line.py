"""runtime._read_line: how StartContainer reads the shim's pid line (and maybe its ready byte) from the pipe."""

from __future__ import annotations

import os

import pytest

from node_agent.runtime.runtime import _read_line

pytestmark = pytest.mark.unit


def test_line_then_what_followed_in_the_same_read() -> None:
    r, w = os.pipe()
    os.write(w, b"1234\n\n")
    try:
        assert _read_line(r, 1) == ("1234", b"\n")
    finally:
        os.close(r)
        os.close(w)


def test_line_arriving_in_pieces() -> None:
    r, w = os.pipe()
    os.write(w, b"12")
    os.write(w, b"34\n")
    try:
        assert _read_line(r, 1) == ("1234", b"")
    finally:
        os.close(r)
        os.close(w)


def test_end_of_file_or_timeout_without_a_newline_is_empty() -> None:
    r, w = os.pipe()
    os.write(w, b"12")
    os.close(w)
    try:
        assert _read_line(r, 1) == ("", b"")
    finally:
        os.close(r)
    r, w = os.pipe()
    try:
        assert _read_line(r, 0.05) == ("", b"")
    finally:
        os.close(r)
        os.close(w)
