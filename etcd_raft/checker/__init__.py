"""History checkers for the store: linearizability of a recorded KV history (see linearizability.py)."""

from etcd_raft.checker.linearizability import Op, Verdict, check_history

__all__ = ["Op", "Verdict", "check_history"]
