"""apps/v1 workloads (Deployment, ReplicaSet, StatefulSet, DaemonSet) and core/v1 ReplicationController.

Defaults (pkg/apis/apps/v1/defaults.go): Deployment replicas 1, strategy RollingUpdate 25%/25%,
revisionHistoryLimit 10, progressDeadlineSeconds 600; ReplicaSet replicas 1; StatefulSet replicas 1,
podManagementPolicy OrderedReady, updateStrategy RollingUpdate partition 0, revisionHistoryLimit 10,
persistentVolumeClaimRetentionPolicy Retain/Retain, claim templates volumeMode Filesystem; DaemonSet
updateStrategy RollingUpdate maxUnavailable 1 maxSurge 0, revisionHistoryLimit 10. Templates get pod-spec
defaults. ReplicationController (core/v1) defaults its selector and labels from the template labels.

Validation: selector required and non-empty, ``selector`` must match template ``labels`` (the famous message),
template restartPolicy Always, replicas/limits non-negative, strategy checks; updates: apps/v1 selectors are
immutable (``spec.selector: Invalid value: v1.LabelSelector{...}: field is immutable``), StatefulSet spec fields
other than the updatable ones are forbidden.
"""

from __future__ import annotations

from typing import Any

from apiserver.kinds import pod
from apiserver.kinds.common import (
    GoValue,
    Obj,
    child,
    d,
    go_int_or_string,
    int_or_percent_value,
    is_not_more_than_100_percent,
    lst,
    s,
    selector_empty,
    selector_matches,
    selector_value,
    validate_label_selector,
    validate_labels,
    validate_nonnegative,
    validate_positive_int_or_percent,
)
from apiserver.kinds.field import Cause, forbidden, immutable, invalid, not_supported, required
from kemu.api.gofmt import go_sharp_v

SELECTOR_MISMATCH = "`selector` does not match template `labels`"


def _spec(obj: Obj) -> Obj:
    return child(obj, "spec")


# --- defaults --------------------------------------------------------------------------------------------------

def default_deployment(obj: Obj) -> None:
    spec = _spec(obj)
    spec.setdefault("replicas", 1)
    strategy = child(spec, "strategy")
    if not strategy.get("type"):
        strategy["type"] = "RollingUpdate"
    if strategy["type"] == "RollingUpdate":
        ru = child(strategy, "rollingUpdate")
        ru.setdefault("maxUnavailable", "25%")
        ru.setdefault("maxSurge", "25%")
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    pod.default_template_of(spec)


def default_replicaset(obj: Obj) -> None:
    spec = _spec(obj)
    spec.setdefault("replicas", 1)
    pod.default_template_of(spec)


def default_replication_controller(obj: Obj) -> None:
    spec = _spec(obj)
    tmpl_labels = d(d(spec.get("template")).get("metadata")).get("labels")
    if isinstance(tmpl_labels, dict) and tmpl_labels:
        if not spec.get("selector"):
            spec["selector"] = dict(tmpl_labels)
        meta = obj.setdefault("metadata", {})
        if not meta.get("labels"):
            meta["labels"] = dict(tmpl_labels)
    spec.setdefault("replicas", 1)
    pod.default_template_of(spec)


def default_statefulset(obj: Obj) -> None:
    spec = _spec(obj)
    if not spec.get("podManagementPolicy"):
        spec["podManagementPolicy"] = "OrderedReady"
    us = child(spec, "updateStrategy")
    if not us.get("type"):
        us["type"] = "RollingUpdate"
    if us["type"] == "RollingUpdate":
        ru = child(us, "rollingUpdate")
        ru.setdefault("partition", 0)
    policy = child(spec, "persistentVolumeClaimRetentionPolicy")
    policy.setdefault("whenDeleted", "Retain")
    policy.setdefault("whenScaled", "Retain")
    spec.setdefault("replicas", 1)
    spec.setdefault("revisionHistoryLimit", 10)
    for claim in lst(spec.get("volumeClaimTemplates")):
        if not isinstance(claim, dict):
            continue
        pod.embedded_meta(claim)
        cs = claim.get("spec")
        if isinstance(cs, dict) and not cs.get("volumeMode"):
            cs["volumeMode"] = "Filesystem"
        # PVC defaulting gives every claim (templates too) a Pending phase.
        status = child(claim, "status")
        if not status.get("phase"):
            status["phase"] = "Pending"
    pod.default_template_of(spec)


def default_daemonset(obj: Obj) -> None:
    spec = _spec(obj)
    us = child(spec, "updateStrategy")
    if not us.get("type"):
        us["type"] = "RollingUpdate"
    if us["type"] == "RollingUpdate":
        ru = child(us, "rollingUpdate")
        ru.setdefault("maxUnavailable", 1)
        ru.setdefault("maxSurge", 0)
    spec.setdefault("revisionHistoryLimit", 10)
    pod.default_template_of(spec)


# --- validation ------------------------------------------------------------------------------------------------

def _template_labels_value(template: Any) -> Any:
    labels = d(d(template).get("metadata")).get("labels")
    if labels is None:
        return GoValue("map[string]string(nil)")
    return {k: str(v) for k, v in d(labels).items()}


def validate_selector_and_template(spec: Obj, kind_word: str, path: str = "spec",
                                   template_owner: str = "ReplicaSet") -> list[Cause]:
    """Selector present/valid/non-empty and matching the template labels; the template itself."""
    out: list[Cause] = []
    sel = spec.get("selector")
    if sel is None:
        out.append(required(f"{path}.selector"))
    else:
        out.extend(validate_label_selector(sel, f"{path}.selector"))
        if selector_empty(sel):
            out.append(invalid(f"{path}.selector", selector_value(sel), f"empty selector is invalid for {kind_word}"))
    template = spec.get("template")
    labels = {k: str(v) for k, v in d(d(d(template).get("metadata")).get("labels")).items()}
    matched = selector_matches(sel, labels)
    if matched is None:
        out.append(invalid(f"{path}.selector", selector_value(sel), "invalid label selector"))
        return out
    if template is None:
        out.append(required(f"{path}.template"))
        return out
    if not selector_empty(sel) and not matched:
        out.append(invalid(f"{path}.template.metadata.labels", _template_labels_value(template), SELECTOR_MISMATCH))
    claims = frozenset(s(d(d(c).get("metadata")).get("name")) for c in lst(spec.get("volumeClaimTemplates")))
    out.extend(pod.validate_template(template, f"{path}.template", claims))
    tspec = d(d(template).get("spec"))
    rp = s(tspec.get("restartPolicy"))
    if rp != "Always":
        out.append(not_supported(f"{path}.template.spec.restartPolicy", rp, ["Always"]))
    if tspec.get("activeDeadlineSeconds") is not None:
        out.append(forbidden(f"{path}.template.spec.activeDeadlineSeconds",
                             f"activeDeadlineSeconds in {template_owner} is not Supported"))
    return out


def validate_deployment(obj: Obj) -> list[Cause]:
    spec = d(obj.get("spec"))
    out = validate_nonnegative(spec.get("replicas"), "spec.replicas")
    out.extend(validate_selector_and_template(spec, "deployment"))
    out.extend(_validate_deployment_strategy(d(spec.get("strategy")), "spec.strategy"))
    out.extend(validate_nonnegative(spec.get("minReadySeconds"), "spec.minReadySeconds"))
    out.extend(validate_nonnegative(spec.get("revisionHistoryLimit"), "spec.revisionHistoryLimit"))
    pds = spec.get("progressDeadlineSeconds")
    if isinstance(pds, int):
        out.extend(validate_nonnegative(pds, "spec.progressDeadlineSeconds"))
        mrs_raw = spec.get("minReadySeconds")
        mrs = mrs_raw if isinstance(mrs_raw, int) else 0
        if pds <= mrs:
            out.append(invalid("spec.progressDeadlineSeconds", pds, "must be greater than minReadySeconds"))
    return out


def _validate_deployment_strategy(strategy: Obj, path: str) -> list[Cause]:
    kind = s(strategy.get("type"))
    if kind == "Recreate":
        if strategy.get("rollingUpdate") is not None:
            return [forbidden(f"{path}.rollingUpdate", "may not be specified when strategy `type` is 'Recreate'")]
        return []
    if kind == "RollingUpdate":
        ru = strategy.get("rollingUpdate")
        if not isinstance(ru, dict):
            return [required(f"{path}.rollingUpdate", "this should be defaulted and never be nil")]
        p = f"{path}.rollingUpdate"
        out = validate_positive_int_or_percent(ru.get("maxUnavailable"), f"{p}.maxUnavailable")
        out.extend(validate_positive_int_or_percent(ru.get("maxSurge"), f"{p}.maxSurge"))
        if int_or_percent_value(ru.get("maxUnavailable")) == 0 and int_or_percent_value(ru.get("maxSurge")) == 0:
            out.append(invalid(f"{p}.maxUnavailable", go_int_or_string(ru.get("maxUnavailable")),
                               "may not be 0 when `maxSurge` is 0"))
        out.extend(is_not_more_than_100_percent(ru.get("maxUnavailable"), f"{p}.maxUnavailable"))
        return out
    shown = GoValue(f"apps.DeploymentStrategy{{Type:{go_sharp_v(kind)}, RollingUpdate:(*apps.RollingUpdateDeployment)"
                    "(nil)}")
    return [not_supported(path, shown, ["Recreate", "RollingUpdate"])]


def validate_replicaset(obj: Obj) -> list[Cause]:
    spec = d(obj.get("spec"))
    out = validate_nonnegative(spec.get("replicas"), "spec.replicas")
    out.extend(validate_nonnegative(spec.get("minReadySeconds"), "spec.minReadySeconds"))
    out.extend(validate_selector_and_template(spec, "deployment"))
    return out


def validate_replication_controller(obj: Obj) -> list[Cause]:
    spec = d(obj.get("spec"))
    out = validate_nonnegative(spec.get("replicas"), "spec.replicas")
    sel = d(spec.get("selector"))
    out.extend(validate_labels(sel, "spec.selector"))
    if not sel:
        out.append(required("spec.selector"))
    template = spec.get("template")
    if template is None:
        out.append(required("spec.template"))
        return out
    labels = {k: str(v) for k, v in d(d(d(template).get("metadata")).get("labels")).items()}
    if sel and not all(labels.get(k) == str(v) for k, v in sel.items()):
        out.append(invalid("spec.template.metadata.labels", _template_labels_value(template), SELECTOR_MISMATCH))
    out.extend(pod.validate_template(template, "spec.template"))
    rp = s(d(d(template).get("spec")).get("restartPolicy"))
    if rp != "Always":
        out.append(not_supported("spec.template.spec.restartPolicy", rp, ["Always"]))
    return out


def validate_statefulset(obj: Obj) -> list[Cause]:
    spec = d(obj.get("spec"))
    out: list[Cause] = []
    pmp = s(spec.get("podManagementPolicy"))
    if pmp not in ("OrderedReady", "Parallel"):
        out.append(invalid("spec.podManagementPolicy", pmp,
                           "must be 'OrderedReady' or 'Parallel'" if pmp else ""))
    us = d(spec.get("updateStrategy"))
    ut = s(us.get("type"))
    if ut not in ("OnDelete", "RollingUpdate"):
        out.append(not_supported("spec.updateStrategy.type", ut, ["OnDelete", "RollingUpdate"]) if ut
                   else required("spec.updateStrategy", ""))
    if ut == "OnDelete" and us.get("rollingUpdate") is not None:
        out.append(invalid("spec.updateStrategy.rollingUpdate", GoValue("apps.RollingUpdateStatefulSetStrategy{...}"),
                           "only allowed for updateStrategy 'RollingUpdate'"))
    partition = d(us.get("rollingUpdate")).get("partition")
    out.extend(validate_nonnegative(partition, "spec.updateStrategy.rollingUpdate.partition"))
    out.extend(validate_nonnegative(spec.get("replicas"), "spec.replicas"))
    out.extend(validate_nonnegative(spec.get("minReadySeconds"), "spec.minReadySeconds"))
    out.extend(validate_selector_and_template(spec, "statefulset", template_owner="StatefulSet"))
    policy = d(spec.get("persistentVolumeClaimRetentionPolicy"))
    for key in ("whenDeleted", "whenScaled"):
        val = s(policy.get(key))
        if val not in ("Retain", "Delete"):
            out.append(not_supported(f"spec.persistentVolumeClaimRetentionPolicy.{key}", val, ["Retain", "Delete"]))
    return out


def validate_daemonset(obj: Obj) -> list[Cause]:
    spec = d(obj.get("spec"))
    out = validate_selector_and_template(spec, "daemonset", template_owner="DaemonSet")
    out.extend(validate_nonnegative(spec.get("minReadySeconds"), "spec.minReadySeconds"))
    us = d(spec.get("updateStrategy"))
    ut = s(us.get("type"))
    if ut not in ("OnDelete", "RollingUpdate"):
        out.append(not_supported("spec.updateStrategy.type", ut, ["OnDelete", "RollingUpdate"]) if ut
                   else required("spec.updateStrategy.type"))
    ru = us.get("rollingUpdate")
    if ut == "RollingUpdate" and isinstance(ru, dict):
        p = "spec.updateStrategy.rollingUpdate"
        out.extend(validate_positive_int_or_percent(ru.get("maxUnavailable"), f"{p}.maxUnavailable"))
        out.extend(validate_positive_int_or_percent(ru.get("maxSurge"), f"{p}.maxSurge"))
        if int_or_percent_value(ru.get("maxUnavailable")) == 0 and int_or_percent_value(ru.get("maxSurge")) == 0:
            out.append(invalid(f"{p}.maxUnavailable", go_int_or_string(ru.get("maxUnavailable")),
                               "may not be 0 when `maxSurge` is 0"))
        out.extend(is_not_more_than_100_percent(ru.get("maxUnavailable"), f"{p}.maxUnavailable"))
    return out


# --- updates ---------------------------------------------------------------------------------------------------

def selector_immutable(new: Obj, old: Obj) -> list[Cause]:
    nsel, osel = d(new.get("spec")).get("selector"), d(old.get("spec")).get("selector")
    if nsel != osel:
        return [immutable("spec.selector", selector_value(nsel))]
    return []


_STS_UPDATABLE = ("replicas", "ordinals", "template", "updateStrategy", "persistentVolumeClaimRetentionPolicy",
                  "minReadySeconds")
STS_FORBIDDEN = ("updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', "
                 "'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden")


def validate_statefulset_update(new: Obj, old: Obj) -> list[Cause]:
    out = validate_statefulset(new)
    nspec, ospec = d(new.get("spec")), d(old.get("spec"))
    rest_new = {k: v for k, v in nspec.items() if k not in _STS_UPDATABLE}
    rest_old = {k: v for k, v in ospec.items() if k not in _STS_UPDATABLE}
    if rest_new != rest_old:
        out.append(forbidden("spec", STS_FORBIDDEN))
    return out
