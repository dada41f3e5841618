"""The kubelet: pure pod-action core plus the executor that wires it to CRI and the apiserver.

Pure (no I/O, injected time):
- ``model``      observed runtime records (ObservedPod/Sandbox/Container) and Pod spec views with API defaults;
- ``actions``    ``compute_pod_actions(pod, observed, now, backoff, unhealthy=, startup_done=) -> PodActions``;
- ``status``     ``compute_pod_status(pod, observed, StatusInputs) -> status dict`` (phase, conditions, statuses);
- ``backoff``    CrashLoopBackOff timing (10 s doubling to 300 s, reset after 10 min);
- ``probes``     startup/liveness/readiness state machine; ``resources`` QoS class and CRI Linux resources;
- ``env``, ``volumes``, ``containers``   container environment, volume plan, CRI request records;
- ``node``       Node object, node status and Lease; ``stats`` the Summary API document.
I/O at the edges: ``worker`` (one pod), ``agent`` (node loops), ``cri_client`` (CRI gRPC), ``apiclient`` (REST),
``prober`` (probe/hook checks), ``server`` (kubelet HTTP endpoint), ``portforward`` (kubectl's
WebSocket-tunnelled SPDY port-forward, framing in the pure ``spdy``). The process is ``python -m node_agent``.
"""
