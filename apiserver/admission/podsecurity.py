"""PodSecurity admission (Pod Security Standards) driven by namespace labels.

``pod-security.kubernetes.io/enforce`` (privileged | baseline | restricted, with ``enforce-version``: latest or
v1.N) rejects violating pods: 403 ``pods "p" is forbidden: violates PodSecurity "restricted:latest": <reason>
(<detail>), ...``. ``warn`` adds ``would violate PodSecurity "baseline:latest": ...`` warnings. Workload objects
(pod templates) are never rejected; they get warnings for the enforce and warn levels.

Checks and their order follow the reference implementation (messages as real clusters print them): baseline --
non-default capabilities, host namespaces, hostPath volumes, hostPort, privileged, procMount, seccompProfile
(Unconfined), forbidden sysctls; restricted -- the baseline ones it does not replace, then allowPrivilegeEscalation,
unrestricted capabilities, restricted volume types, runAsNonRoot, runAsUser=0, seccompProfile
(RuntimeDefault/Localhost).
Policy versions are evaluated as ``latest``. Not checked (gaps): AppArmor, SELinux options, Windows hostProcess.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from apiserver.admission.errors import AdmissionError, forbidden
from apiserver.admission.shape import dicts, dig, obj, strs, text

Obj = dict[str, Any]
Result = tuple[str, str] | None  # (reason, detail) when violated
LABEL = "pod-security.kubernetes.io/"
LEVELS = ("privileged", "baseline", "restricted")
BASELINE_CAPABILITIES = frozenset({"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
                                   "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"})
SAFE_SYSCTLS = frozenset({"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range",
                          "net.ipv4.ip_unprivileged_port_start", "net.ipv4.tcp_syncookies",
                          "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
                          "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
                          "net.ipv4.tcp_keepalive_probes"})
ALLOWED_VOLUME_TYPES = frozenset({"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
                                  "persistentVolumeClaim", "projected", "secret", "image"})


def _quote(items: list[str]) -> str:
    return '"' + '", "'.join(items) + '"' if items else ""


def _plural(singular: str, plural: str, n: int) -> str:
    return singular if n == 1 else plural


def _containers(spec: Obj) -> list[Obj]:
    """Init, app and ephemeral containers, in that order (the reference visitor's)."""
    return dicts(spec.get("initContainers")) + dicts(spec.get("containers")) + dicts(spec.get("ephemeralContainers"))


def _names(cs: list[Obj]) -> list[str]:
    return [text(c.get("name")) for c in cs]


def _sc(c: Obj) -> Obj:
    return obj(c.get("securityContext"))


def _containers_phrase(names: list[str]) -> str:
    return f'{_plural("container", "containers", len(names))} {_quote(names)}'


# --- baseline -----------------------------------------------------------------------------------------------------
def host_namespaces(spec: Obj) -> Result:
    used = [f"{k}=true" for k in ("hostNetwork", "hostPID", "hostIPC") if spec.get(k) is True]
    return ("host namespaces", ", ".join(used)) if used else None


def host_ports(spec: Obj) -> Result:
    bad: list[str] = []
    ports: set[str] = set()
    for c in _containers(spec):
        found = {str(p.get("hostPort")) for p in dicts(c.get("ports")) if p.get("hostPort") not in (None, 0)}
        if found:
            bad.append(text(c.get("name")))
            ports |= found
    if not bad:
        return None
    return ("hostPort", f'{_containers_phrase(bad)} {_plural("uses", "use", len(bad))} '
                        f'{_plural("hostPort", "hostPorts", len(ports))} {", ".join(sorted(ports))}')


def privileged(spec: Obj) -> Result:
    bad = _names([c for c in _containers(spec) if _sc(c).get("privileged") is True])
    return ("privileged", f"{_containers_phrase(bad)} must not set securityContext.privileged=true") if bad else None


def proc_mount(spec: Obj) -> Result:
    bad = [c for c in _containers(spec) if _sc(c).get("procMount") not in (None, "Default")]
    if not bad:
        return None
    values = sorted({text(_sc(c).get("procMount")) for c in bad})
    return ("procMount", f"{_containers_phrase(_names(bad))} must not set securityContext.procMount to "
                         f"{_quote(values)}")


def sysctls(spec: Obj) -> Result:
    bad = [text(s.get("name")) for s in dicts(dig(spec, "securityContext", "sysctls"))
           if text(s.get("name")) not in SAFE_SYSCTLS]
    return ("forbidden sysctls", ", ".join(bad)) if bad else None


def capabilities_baseline(spec: Obj) -> Result:
    bad: list[str] = []
    caps: set[str] = set()
    for c in _containers(spec):
        extra = {a for a in strs(dig(_sc(c), "capabilities", "add")) if a not in BASELINE_CAPABILITIES}
        if extra:
            bad.append(text(c.get("name")))
            caps |= extra
    if not bad:
        return None
    return ("non-default capabilities", f"{_containers_phrase(bad)} must not include {_quote(sorted(caps))} in "
                                        f"securityContext.capabilities.add")


def host_path_volumes(spec: Obj) -> Result:
    bad = [text(v.get("name")) for v in dicts(spec.get("volumes")) if v.get("hostPath") is not None]
    return ("hostPath volumes", f'{_plural("volume", "volumes", len(bad))} {_quote(bad)}') if bad else None


def _seccomp(spec: Obj, valid: Callable[[str], bool], restricted: bool) -> Result:
    setters: list[str] = []
    values: set[str] = set()
    pod_profile = dig(spec, "securityContext", "seccompProfile")
    pod_ok = False
    if isinstance(pod_profile, dict):
        if valid(text(pod_profile.get("type"))):
            pod_ok = True
        else:
            setters.append("pod")
            values.add(text(pod_profile.get("type")))
    explicit: list[str] = []
    implicit: list[str] = []
    for c in _containers(spec):
        profile = _sc(c).get("seccompProfile")
        if isinstance(profile, dict):
            if not valid(text(profile.get("type"))):
                explicit.append(text(c.get("name")))
                values.add(text(profile.get("type")))
        elif not pod_ok:
            implicit.append(text(c.get("name")))
    if explicit:
        setters.append(_containers_phrase(explicit))
    if setters:
        return ("seccompProfile", f"{' and '.join(setters)} must not set securityContext.seccompProfile.type to "
                                  f"{_quote(sorted(values))}")
    if restricted and implicit:
        return ("seccompProfile", f'pod or {_containers_phrase(implicit)} must set securityContext.seccompProfile.type '
                                  f'to "RuntimeDefault" or "Localhost"')
    return None


def seccomp_baseline(spec: Obj) -> Result:
    return _seccomp(spec, lambda t: t != "Unconfined", restricted=False)


# --- restricted ---------------------------------------------------------------------------------------------------
def allow_privilege_escalation(spec: Obj) -> Result:
    bad = _names([c for c in _containers(spec) if _sc(c).get("allowPrivilegeEscalation") is not False])
    return ("allowPrivilegeEscalation != false",
            f"{_containers_phrase(bad)} must set securityContext.allowPrivilegeEscalation=false") if bad else None


def capabilities_restricted(spec: Obj) -> Result:
    missing_drop: list[str] = []
    adding: list[str] = []
    caps: set[str] = set()
    for c in _containers(spec):
        capabilities = _sc(c).get("capabilities")
        if not isinstance(capabilities, dict):
            missing_drop.append(text(c.get("name")))
            continue
        if "ALL" not in strs(capabilities.get("drop")):
            missing_drop.append(text(c.get("name")))
        extra = {a for a in strs(capabilities.get("add")) if a != "NET_BIND_SERVICE"}
        if extra:
            adding.append(text(c.get("name")))
            caps |= extra
    details = []
    if missing_drop:
        details.append(f'{_containers_phrase(missing_drop)} must set securityContext.capabilities.drop=["ALL"]')
    if adding:
        details.append(f"{_containers_phrase(adding)} must not include {_quote(sorted(caps))} in "
                       f"securityContext.capabilities.add")
    return ("unrestricted capabilities", "; ".join(details)) if details else None


def restricted_volumes(spec: Obj) -> Result:
    bad: list[str] = []
    types: set[str] = set()
    for v in dicts(spec.get("volumes")):
        sources = [k for k in v if k != "name" and v[k] is not None]
        if any(s in ALLOWED_VOLUME_TYPES for s in sources):
            continue
        bad.append(text(v.get("name")))
        types |= set(sources) or {"unknown"}
    if not bad:
        return None
    return ("restricted volume types", f'{_plural("volume", "volumes", len(bad))} {_quote(bad)} '
                                       f'{_plural("uses", "use", len(bad))} '
                                       f'{_plural("restricted volume type", "restricted volume types", len(types))} '
                                       f"{_quote(sorted(types))}")


def run_as_non_root(spec: Obj) -> Result:
    setters: list[str] = []
    pod_value = dig(spec, "securityContext", "runAsNonRoot")
    if pod_value is False:
        setters.append("pod")
    explicit = _names([c for c in _containers(spec) if _sc(c).get("runAsNonRoot") is False])
    implicit = _names([c for c in _containers(spec) if _sc(c).get("runAsNonRoot") is None and pod_value is not True])
    if explicit:
        setters.append(_containers_phrase(explicit))
    if setters:
        return ("runAsNonRoot != true", f"{' and '.join(setters)} must not set securityContext.runAsNonRoot=false")
    if implicit:
        return ("runAsNonRoot != true", f"pod or {_containers_phrase(implicit)} must set "
                                        f"securityContext.runAsNonRoot=true")
    return None


def run_as_user(spec: Obj) -> Result:
    setters = ["pod"] if dig(spec, "securityContext", "runAsUser") == 0 else []
    bad = _names([c for c in _containers(spec) if _sc(c).get("runAsUser") == 0])
    if bad:
        setters.append(_containers_phrase(bad))
    return ("runAsUser=0", f"{' and '.join(setters)} must not set runAsUser=0") if setters else None


def seccomp_restricted(spec: Obj) -> Result:
    return _seccomp(spec, lambda t: t in ("RuntimeDefault", "Localhost"), restricted=True)


# The reference registers checks in source-file order; a restricted check replaces the baseline check it overlaps
# (capabilities, hostPath volumes, seccomp).
BASELINE: list[Callable[[Obj], Result]] = [capabilities_baseline, host_namespaces, host_path_volumes, host_ports,
                                           privileged, proc_mount, seccomp_baseline, sysctls]
OVERLAPPED = frozenset({capabilities_baseline, host_path_volumes, seccomp_baseline})
RESTRICTED: list[Callable[[Obj], Result]] = [allow_privilege_escalation, capabilities_restricted,
                                             restricted_volumes, run_as_non_root, run_as_user, seccomp_restricted]


def violations(level: str, spec: Obj) -> list[tuple[str, str]]:
    if level == "baseline":
        checks = BASELINE
    elif level == "restricted":
        checks = [c for c in BASELINE if c not in OVERLAPPED] + RESTRICTED
    else:
        return []
    return [r for r in (check(spec) for check in checks) if r is not None]


def detail(found: list[tuple[str, str]]) -> str:
    return ", ".join(f"{reason} ({d})" if d else reason for reason, d in found)


def policy(labels: Mapping[str, Any], mode: str) -> tuple[str, str]:
    """(level, version) of a mode (enforce, warn, audit) from namespace labels; privileged when unset/invalid."""
    level = text(labels.get(LABEL + mode))
    version = text(labels.get(f"{LABEL}{mode}-version")) or "latest"
    return (level if level in LEVELS else "privileged"), version


def _template_spec(o: Obj, kind: str) -> Obj | None:
    if kind == "Pod":
        return obj(o.get("spec"))
    if kind == "CronJob":
        return obj(dig(o, "spec", "jobTemplate", "spec", "template", "spec"))
    template = dig(o, "spec", "template", "spec")
    return obj(template) if template is not None else None


def pod_security(o: Obj, kind: str, namespace_labels: Mapping[str, Any] | None) -> list[str]:
    """Warnings for ``o`` (a Pod or a workload with a pod template); raises ``AdmissionError`` 403 when a Pod
    violates the namespace's enforce level."""
    labels = obj(namespace_labels)
    spec = _template_spec(o, kind)
    if spec is None:
        return []
    warnings: list[str] = []
    level, version = policy(labels, "enforce")
    found = violations(level, spec)
    if found:
        if kind == "Pod":
            raise forbidden("pods", text(dig(o, "metadata", "name")),
                            f'violates PodSecurity "{level}:{version}": {detail(found)}')
        warnings.append(f'would violate PodSecurity "{level}:{version}": {detail(found)}')
    warn_level, warn_version = policy(labels, "warn")
    warn_found = violations(warn_level, spec)
    if warn_found and (warn_level, warn_version) != (level, version):
        warnings.append(f'would violate PodSecurity "{warn_level}:{warn_version}": {detail(warn_found)}')
    return warnings


def _label_errors(labels: Mapping[str, Any]) -> list[dict[str, str]]:
    causes: list[dict[str, str]] = []
    for mode in ("enforce", "audit", "warn"):
        key = LABEL + mode
        if key in labels and labels[key] not in LEVELS:
            causes.append({"reason": "FieldValueNotSupported", "field": f"metadata.labels[{key}]",
                           "message": f'Unsupported value: "{text(labels[key])}": supported values: "privileged", '
                                      f'"baseline", "restricted"'})
        vkey = f"{key}-version"
        if vkey in labels and not _valid_version(text(labels[vkey])):
            causes.append({"reason": "FieldValueInvalid", "field": f"metadata.labels[{vkey}]",
                           "message": f'Invalid value: "{text(labels[vkey])}": must be \'latest\' or \'v1.x\''})
    return causes


def _valid_version(v: str) -> bool:
    if v == "latest":
        return True
    major, _, minor = v.removeprefix("v").partition(".")
    return v.startswith("v1.") and major == "1" and minor.isdigit()


def pod_security_namespace(op: str, namespace: Obj, old: Obj | None, pods: list[Obj]) -> list[str]:
    """Namespace create/update: invalid pod-security labels are 422; raising the enforce level returns warnings
    naming the existing pods that would violate it (``existing pods in namespace "x" violate the new PodSecurity
    enforce level "restricted:latest"``, then ``web (and 2 other pods): hostPort, privileged``)."""
    labels = obj(dig(namespace, "metadata", "labels"))
    name = text(dig(namespace, "metadata", "name"))
    causes = _label_errors(labels)
    old_labels = obj(dig(old, "metadata", "labels"))
    if causes and (op.upper() == "CREATE" or any(labels.get(k) != old_labels.get(k) for k in labels
                                                  if k.startswith(LABEL))):
        message = "; ".join(f"{c['field']}: {c['message']}" for c in causes)
        if len(causes) > 1:
            message = f"[{', '.join(c['field'] + ': ' + c['message'] for c in causes)}]"
        raise AdmissionError(422, "Invalid", f'Namespace "{name}" is invalid: {message}',
                             {"name": name, "kind": "Namespace", "causes": causes})
    if op.upper() != "UPDATE":
        return []
    level, version = policy(labels, "enforce")
    old_level, old_version = policy(old_labels, "enforce")
    if (level, version) == (old_level, old_version) or level == "privileged" or (
            version == old_version and LEVELS.index(level) <= LEVELS.index(old_level)):
        return []
    counts: dict[str, list[str]] = {}
    for p in pods:
        found = violations(level, obj(p.get("spec")))
        if found:
            counts.setdefault(", ".join(reason for reason, _ in found), []).append(text(dig(p, "metadata", "name")))
    if not counts:
        return []
    lines = []
    for reasons, names in counts.items():
        first, others = min(names), len(names) - 1
        who = first if others == 0 else f"{first} (and 1 other pod)" if others == 1 else \
            f"{first} (and {others} other pods)"
        lines.append(f"{who}: {reasons}")
    return [f'existing pods in namespace "{name}" violate the new PodSecurity enforce level "{level}:{version}"',
            *sorted(lines)]
