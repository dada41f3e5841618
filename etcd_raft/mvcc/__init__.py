"""Pure, deterministic MVCC state machine with etcd's semantics (see store.py and watch.py)."""

from etcd_raft.mvcc.errors import EtcdError
from etcd_raft.mvcc.store import Store
from etcd_raft.mvcc.watch import Watcher, WatchHub

__all__ = ["EtcdError", "Store", "WatchHub", "Watcher"]
