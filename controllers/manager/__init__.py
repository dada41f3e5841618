"""The controller-manager: shared informers, the executor of reconcile plans, and one small controller per kind."""
