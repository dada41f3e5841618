"""kemu.api against the real Go code, using the installed kubectl as an oracle (no server needed).

- Label selectors: ``kubectl top pod -l <sel>`` parses the selector with apimachinery's ``labels.Parse`` before
  it contacts a server, so a bad selector prints Go's exact error.
- Quantities: ``kubectl create quota --hard=k=v --dry-run=client -o json`` parses each value with
  ``resource.ParseQuantity`` and prints it back canonically (or prints the parse error).
- ConfigMap keys (``kubectl create configmap --from-literal``) and label values (``kubectl label --local``) go
  through apimachinery's IsConfigMapKey / IsValidLabelValue.
kubectl is pointed at a closed loopback port; nothing leaves the machine.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

from kemu.api import names
from kemu.api.quantity import QuantityError, canonical
from kemu.api.selectors import SelectorError, parse_label_selector

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")]

NO_SERVER = "--server=http://127.0.0.1:1"


def _kubectl(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["kubectl", *args], capture_output=True, text=True, timeout=30, input=stdin,
                          env={"PATH": "/usr/bin:/bin", "KUBECONFIG": "/dev/null", "HOME": "/tmp"})


SELECTORS = [
    "a in (b", ",a", "a,", "a_=b", "a=b_", "a b", "x,,y", "!a=b", "a>x", "a/b/c", "a in b", "=", "a in (b c)",
    "a notin ()", "a in (,", "a==", "a!=b,", "(a)", "a=(b)", "a in (b),c notin (d e)", "!", "!!a", "a<", "a in ((b)",
    "-a=b", "a=-b", "Ex.com/a=b", "a=" + "b" * 64, "a" * 64 + "=b", "a=b,c=d,e", "a  in  ( b , c )", "in in (in)",
    "notin=in", "a=b\tc", "a==b==c", "a>1,b<2", "a gt 1", "k8s.io/app!=x",
]


def _kubectl_selector_error(sel: str) -> str | None:
    """Go's parse error for ``sel``, or None when it parses (then kubectl fails later, on the closed port)."""
    res = _kubectl("top", "pod", "-l", sel, NO_SERVER)
    for line in res.stderr.splitlines():
        if line.startswith("error: ") and "127.0.0.1:1" not in line:
            return line[len("error: "):]
    return None


def test_label_selector_errors_match_go() -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        expected = list(pool.map(_kubectl_selector_error, SELECTORS))
    mismatches = []
    for sel, want in zip(SELECTORS, expected, strict=True):
        try:
            parse_label_selector(sel)
            got = None
        except SelectorError as e:
            got = str(e)
        if got != want:
            mismatches.append((sel, want, got))
    assert mismatches == []


QUANTITIES = [
    "1.5", "0.5Ki", "1023", "1024", "-1Gi", "0.0000000001", "12345678901234567890", "1.5e-3", "100e-2", "1Ei", "8Ei",
    ".", "+", "0", "100m", "2000", "1500", "1k", "128Mi", "1.5Gi", "1024Mi", "1000Ki", "1e3", "1.5e3", "1E", "5G",
    "-1", "+2", "1.", ".5", "1n", "250u", "0.1m", "1.1Ki", "1025", "2048", "1e-10", "3e2", "1T", "1Pi", "12e+3",
    "0.000001Ki", "-0.5", "999999999999999999999", "1.23456789", "1m", "1000m", "1001m", "Gi", "m", "e3", "007",
    "0.50", "8Ki", "9Ki", "1.0", "10.000", "-0", "2.5e-9", "1e-9", "123456789012345678", "1234567890123456789",
    "3Ki", "16Mi", "17Mi", "0.25Gi", "5e0", "1E3",
]
BAD_QUANTITIES = ["1mm", "abc", "1e", "1Gb", "1iK", "1.5.5", "1 Gi", "--1", "1e1.5", "1Kib", "0x10", "1e2Ki", "Pi",
                  "Ei", "e-212", "+Pi", ".e-12"]
ODD_QUANTITIES = ["1000E", "1000000P", "1e19", "1e-99", "1e99", "12345E", "Gi", "Ti", "0.Pi", "1.Pi", ".5Pi",
                  "1.e-12"]


def _kubectl_quota(values: list[str]) -> tuple[dict[str, str] | None, str]:
    hard = ",".join(f"q{i}={v}" for i, v in enumerate(values))
    res = _kubectl("create", "quota", "q", f"--hard={hard}", "--dry-run=client", "-o", "json")
    if res.returncode != 0:
        return None, res.stderr.strip().removeprefix("error: ")
    return json.loads(res.stdout)["spec"]["hard"], ""


def test_quantity_canonical_forms_match_go() -> None:
    hard, err = _kubectl_quota(QUANTITIES)
    assert hard is not None, err
    assert {f"q{i}": canonical(q) for i, q in enumerate(QUANTITIES)} == hard


@pytest.mark.parametrize("text", BAD_QUANTITIES)
def test_quantity_errors_match_go(text: str) -> None:
    hard, err = _kubectl_quota([text])
    with pytest.raises(QuantityError) as e:
        canonical(text)
    assert hard is None and str(e.value) == err


def test_quantity_odd_corners_match_go() -> None:
    hard, err = _kubectl_quota(ODD_QUANTITIES)
    assert hard is not None, err
    assert {f"q{i}": canonical(q) for i, q in enumerate(ODD_QUANTITIES)} == hard


CONFIG_KEYS = ["ok.key", "bad key", "..x", ".", "..", "a/b", "k" * 253, "k" * 254, "k" * 254 + "/", "-_.", "é"]


def _kubectl_config_key_error(key: str) -> str | None:
    res = _kubectl("create", "configmap", "cm", f"--from-literal={key}=v", "--dry-run=client", "-o", "json")
    if res.returncode == 0:
        return None
    return res.stderr.strip().removeprefix("error: ")


def test_config_map_keys_match_go() -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        expected = list(pool.map(_kubectl_config_key_error, CONFIG_KEYS))
    got = [None if not (errs := names.is_config_map_key(k)) else
           f'"{k}" is not a valid key name for a ConfigMap: {",".join(errs)}' for k in CONFIG_KEYS]
    assert got == expected


LABEL_VALUES = ["", "v", "-b", "b-", "a_b.c", "v" * 63, "v" * 64, "-" + "v" * 64, "b c", "ü"]


def _kubectl_label_value_error(value: str) -> str | None:
    res = _kubectl("label", "--local", "-f", "-", f"a={value}", "-o", "json", stdin=_POD)
    if res.returncode == 0:
        return None
    return res.stderr.strip().removeprefix("error: ")


_POD = json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                   "spec": {"containers": [{"name": "c", "image": "x"}]}})


def test_label_values_match_go() -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        expected = list(pool.map(_kubectl_label_value_error, LABEL_VALUES))
    got = [None if not (errs := names.is_label_value(v)) else
           f'invalid label value: "a={v}": {";".join(errs)}' for v in LABEL_VALUES]
    assert got == expected
