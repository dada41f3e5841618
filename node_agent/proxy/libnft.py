"""nftables from inside the process: one libnftables context (the library the `nft` command is built on), via ctypes.

Why: a proxy pass that changes one endpoint is a five-line transaction, but `nft -f -` as a subprocess pays a
process start plus a fresh read of the whole ruleset every time (13-30 ms for a 100 x 10 table here, more under
load). A long-lived context keeps its ruleset cache and revalidates it by the kernel's generation id, so the same
transaction takes 1-2 ms. The context's netlink socket belongs to the network namespace the process is in when
Nft() is created (the proxy runs inside its node's namespace).

Contract: run(script) applies one script as `nft -f` would (all-or-nothing per transaction) and returns what nft
would print; a rejected script raises NftError with nft's own message. available() says whether the library loads;
callers fall back to the `nft` command when it does not.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading

NFT_CTX_DEFAULT = 0


class NftError(RuntimeError):
    pass


def _load() -> ctypes.CDLL | None:
    for name in ("libnftables.so.1", ctypes.util.find_library("nftables")):
        if not name:
            continue
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        lib.nft_ctx_new.restype = ctypes.c_void_p
        lib.nft_ctx_new.argtypes = [ctypes.c_uint32]
        lib.nft_ctx_free.argtypes = [ctypes.c_void_p]
        for fn in (lib.nft_ctx_buffer_output, lib.nft_ctx_buffer_error):
            fn.argtypes = [ctypes.c_void_p]
            fn.restype = ctypes.c_int
        for fn in (lib.nft_ctx_get_output_buffer, lib.nft_ctx_get_error_buffer):
            fn.argtypes = [ctypes.c_void_p]
            fn.restype = ctypes.c_char_p
        lib.nft_run_cmd_from_buffer.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        lib.nft_run_cmd_from_buffer.restype = ctypes.c_int
        return lib
    return None


_LIB = _load()


def available() -> bool:
    return _LIB is not None


class Nft:
    def __init__(self) -> None:
        if _LIB is None:
            raise NftError("libnftables is not available")
        self._lib = _LIB
        self._ctx = self._lib.nft_ctx_new(NFT_CTX_DEFAULT)
        if not self._ctx:
            raise NftError("nft_ctx_new failed")
        self._lib.nft_ctx_buffer_output(self._ctx)
        self._lib.nft_ctx_buffer_error(self._ctx)
        self._lock = threading.Lock()    # one command at a time per context, whichever thread calls

    def run(self, script: str) -> str:
        with self._lock:
            rc = self._lib.nft_run_cmd_from_buffer(self._ctx, script.encode())
            out = (self._lib.nft_ctx_get_output_buffer(self._ctx) or b"").decode(errors="replace")
            err = (self._lib.nft_ctx_get_error_buffer(self._ctx) or b"").decode(errors="replace")
        if rc != 0:
            raise NftError(err.strip() or f"nft failed ({rc})")
        return out

    def close(self) -> None:
        with self._lock:
            if self._ctx:
                self._lib.nft_ctx_free(self._ctx)
                self._ctx = None
