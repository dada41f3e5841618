"""Controller-manager flag handling: --controllers selection and clear errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from controllers.manager.registry import CONTROLLERS, select

pytestmark = pytest.mark.unit


def test_select() -> None:
    assert select("*") == list(CONTROLLERS)
    assert select("deployment") == ["deployment"]
    assert "deployment" not in select("*,-deployment")
    with pytest.raises(ValueError, match='"nope" is not in the list of known controllers'):
        select("nope")


def test_unknown_controller_is_a_usage_error() -> None:
    r = subprocess.run([sys.executable, "-m", "controllers", "--kubeconfig", "/dev/null", "--controllers", "x"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and '"x" is not in the list of known controllers' in r.stderr
    r = subprocess.run([sys.executable, "-m", "controllers", "--kubeconfig", "k", "--node-monitor-grace-period",
                        "4x"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and 'time: invalid duration "4x"' in r.stderr


@pytest.mark.parametrize("module", ["controllers", "controllers.scheduler"])
def test_missing_or_bad_kubeconfig_is_one_line(module: str, tmp_path: object) -> None:
    r = subprocess.run([sys.executable, "-m", module, "--kubeconfig", "/nonexistent/kc"], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 1 and r.stderr.strip() == "error: stat /nonexistent/kc: no such file or directory"
