"""kemu's control loops: the scheduler and the controller-manager, each a process speaking only Kubernetes REST.

Layout:
- ``runtime/``: cache + list/watch informer (relist on 410), work queue with exponential retries, controller
  worker loop, expectations, Lease leader election (pure decision), event recorder, process flags/runner.
- ``scheduler/``: pure filter/score framework with the real reason strings and FitError message, preemption,
  the assume cache, and the process (``python -m controllers.scheduler``).
- ``logic/``: pure reconcile decisions, one module per controller (plain dicts in, a ``Plan`` of actions out).
- ``manager/``: the controllers that wire caches to decisions and execute plans, and the controller-manager
  process (``python -m controllers``).
Only ``kemu.rest`` and ``kemu.api`` are imported from the rest of the project (DESIGN.md import rules).
"""
