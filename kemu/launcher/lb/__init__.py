"""A small TCP load balancer for the HA control plane (kubeadm's controlPlaneEndpoint): round-robin pass-through
over healthy apiservers. pool.py is the pure part, server.py the asyncio I/O, __main__.py the process."""
