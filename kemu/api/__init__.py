"""Shared Kubernetes API helpers: selectors, quantities, names and object-meta utilities.

Pure modules (no I/O, no clocks except an injected ``now``) used by the apiserver, the controllers and the node
agent alike. They import no component of the project. Error messages are worded as Kubernetes words them, so a
caller can put them into a Status unchanged.
"""
