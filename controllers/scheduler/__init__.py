"""The scheduler: pure framework (resources, affinity, filters, scores, framework, preemption, nodeinfo, cache)
and the process loop (``scheduler``, ``__main__``)."""
