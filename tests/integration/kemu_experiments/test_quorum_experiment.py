"""The quorum experiment as a user runs it: live membership changes, kills, probes, report files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.procs import REPO

pytestmark = pytest.mark.integration


def _run(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict[str, object]]:
    out = tmp_path / "report"
    proc = subprocess.run([sys.executable, "-m", "kemu", "--state-dir", str(tmp_path / "state"), "experiment",
                           "quorum", "--out", str(out), *args], capture_output=True, text=True, timeout=600, cwd=REPO)
    report = json.loads((out / "quorum.json").read_text()) if (out / "quorum.json").exists() else {}
    return proc, report


def _capabilities(report: dict[str, object]) -> dict[tuple[int, int], tuple[bool, bool, bool]]:
    rows = report["rows"]
    assert isinstance(rows, list)
    return {(r["members"], r["lost"]): (r["writes"], r["linearizable_reads"], r["serializable_reads"]) for r in rows}


@pytest.mark.parametrize("backend", ["etcd", "etcd_raft"])
def test_three_members_match_the_arithmetic(tmp_path: Path, backend: str) -> None:
    proc, report = _run(tmp_path, "--sizes", "3", "--netns", "off", *(["--real-etcd"] if backend == "etcd" else []))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _capabilities(report) == {(3, 0): (True, True, True), (3, 1): (True, True, True),
                                     (3, 2): (False, False, True)}
    assert report["shrink_ok"] is True
    assert (tmp_path / "report" / "quorum.png").stat().st_size > 1000


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["etcd", "etcd_raft"])
def test_one_three_five_members(tmp_path: Path, backend: str) -> None:
    proc, report = _run(tmp_path, "--netns", "off", *(["--real-etcd"] if backend == "etcd" else []))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    caps = _capabilities(report)
    assert caps[(5, 2)] == (True, True, True) and caps[(5, 3)] == (False, False, True)
