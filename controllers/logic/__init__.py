"""Pure reconcile decisions: plain dicts in (Kubernetes JSON objects from the informer caches, an injected
``now``), a list of actions out. No sockets, files or clocks here; ``controllers.manager`` executes the actions."""
