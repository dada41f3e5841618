"""Run a system command (ip, nft, nsenter ...) with a bounded time; failures raise with the command's own message."""

from __future__ import annotations

import subprocess


def run(argv: list[str], check: bool = True, input_text: str | None = None,
        timeout_s: float = 30.0) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s, input=input_text)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {result.stderr.strip()}")
    return result
