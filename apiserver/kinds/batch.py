"""batch/v1 Job and CronJob: defaulting and validation.

Job defaults (batch/v1 SetDefaults_Job + the strategy's generateSelector): completions and parallelism 1 when
both are unset (parallelism 1 when only it is unset), backoffLimit 6, completionMode NonIndexed, suspend false,
manualSelector false, podReplacementPolicy TerminatingOrFailed (Failed with a podFailurePolicy); unless
``manualSelector`` is true the template gets ``controller-uid``/``batch.kubernetes.io/controller-uid`` (the Job's
uid, set by the caller before defaulting) and ``job-name``/``batch.kubernetes.io/job-name`` labels and the
selector matches ``batch.kubernetes.io/controller-uid``. A Job without labels takes its template's labels,
generated ones included (Go shares the map; here it is done on every pass so defaulting stays idempotent --
Kubernetes skips it on create when the template had no labels at all, and does it on the next update).

CronJob defaults: concurrencyPolicy Allow, suspend false, successfulJobsHistoryLimit 3, failedJobsHistoryLimit 1,
job template pod-spec defaults.

Validation: template restartPolicy OnFailure/Never (``Required value: valid values: "OnFailure", "Never"`` for
Always or empty), selector present and matching, non-negative counts, completion mode; CronJob schedule syntax
(5 fields or @descriptors, robfig/cron wording), name at most 52 characters. Updates: selector, completions,
completionMode and the template (except scheduling directives of a suspended Job) are immutable.
"""

from __future__ import annotations

import re
import zoneinfo
from typing import Any

from apiserver.kinds import pod
from apiserver.kinds.apps import SELECTOR_MISMATCH
from apiserver.kinds.common import (
    GoValue,
    Obj,
    child,
    d,
    lst,
    s,
    selector_matches,
    selector_value,
    validate_label_selector,
    validate_nonnegative,
)
from apiserver.kinds.field import Cause, immutable, invalid, not_supported, required

LEGACY_JOB_NAME = "job-name"
JOB_NAME = "batch.kubernetes.io/job-name"
LEGACY_CONTROLLER_UID = "controller-uid"
CONTROLLER_UID = "batch.kubernetes.io/controller-uid"


# --- defaults --------------------------------------------------------------------------------------------------

def _default_job_spec_fields(spec: Obj) -> None:
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
        spec["parallelism"] = 1
    if spec.get("parallelism") is None:
        spec["parallelism"] = 1
    if spec.get("backoffLimit") is None:
        spec["backoffLimit"] = 2147483647 if spec.get("backoffLimitPerIndex") is not None else 6
    if not spec.get("completionMode"):
        spec["completionMode"] = "NonIndexed"
    if spec.get("suspend") is None:
        spec["suspend"] = False
    if not spec.get("podReplacementPolicy"):
        spec["podReplacementPolicy"] = "Failed" if spec.get("podFailurePolicy") is not None else "TerminatingOrFailed"
    for rule in lst(d(spec.get("podFailurePolicy")).get("rules")):
        for cond in lst(d(rule).get("onPodConditions")):
            if isinstance(cond, dict) and not cond.get("status"):
                cond["status"] = "True"


def default_job(obj: Obj) -> None:
    spec = child(obj, "spec")
    meta = obj.setdefault("metadata", {})
    _default_job_spec_fields(spec)
    template = child(spec, "template")
    tmeta = child(template, "metadata")
    share_labels = not meta.get("labels")
    if spec.get("manualSelector") is not True:
        if spec.get("manualSelector") is None:
            spec["manualSelector"] = False
        labels = child(tmeta, "labels")
        name, uid = s(meta.get("name")), s(meta.get("uid"))
        for key in (LEGACY_JOB_NAME, JOB_NAME):
            labels.setdefault(key, name)
        for key in (LEGACY_CONTROLLER_UID, CONTROLLER_UID):
            labels.setdefault(key, uid)
        sel = child(spec, "selector")
        ml = child(sel, "matchLabels")
        ml.setdefault(CONTROLLER_UID, uid)
    if share_labels and isinstance(tmeta.get("labels"), dict) and tmeta["labels"]:
        meta["labels"] = dict(tmeta["labels"])
    pod.default_template_of(spec)


def default_cronjob(obj: Obj) -> None:
    spec = child(obj, "spec")
    if not spec.get("concurrencyPolicy"):
        spec["concurrencyPolicy"] = "Allow"
    if spec.get("suspend") is None:
        spec["suspend"] = False
    if spec.get("successfulJobsHistoryLimit") is None:
        spec["successfulJobsHistoryLimit"] = 3
    if spec.get("failedJobsHistoryLimit") is None:
        spec["failedJobsHistoryLimit"] = 1
    jt = spec.get("jobTemplate")
    if jt is None:
        jt = spec["jobTemplate"] = {}
    if isinstance(jt, dict):
        pod.embedded_meta(jt)
        if jt.get("spec") is None:
            jt["spec"] = {}
        if isinstance(jt["spec"], dict):
            pod.default_template_of(jt["spec"])


# --- validation ------------------------------------------------------------------------------------------------

def _validate_job_spec_common(spec: Obj, path: str) -> list[Cause]:
    out: list[Cause] = []
    for key in ("parallelism", "completions", "activeDeadlineSeconds", "backoffLimit", "ttlSecondsAfterFinished"):
        out.extend(validate_nonnegative(spec.get(key), f"{path}.{key}"))
    mode = spec.get("completionMode")
    if mode is not None and mode not in ("NonIndexed", "Indexed"):
        out.append(not_supported(f"{path}.completionMode", mode, ["NonIndexed", "Indexed"]))
    if mode == "Indexed" and spec.get("completions") is None:
        out.append(required(f"{path}.completions", "when completion mode is Indexed"))
    prp = spec.get("podReplacementPolicy")
    if prp is not None and prp not in ("TerminatingOrFailed", "Failed"):
        out.append(not_supported(f"{path}.podReplacementPolicy", prp, ["Failed", "TerminatingOrFailed"]))
    template = spec.get("template")
    out.extend(pod.validate_template(template, f"{path}.template"))
    rp = s(d(d(template).get("spec")).get("restartPolicy"))
    if rp in ("Always", ""):
        out.append(required(f"{path}.template.spec.restartPolicy", 'valid values: "OnFailure", "Never"'))
    elif rp not in ("OnFailure", "Never"):
        out.append(not_supported(f"{path}.template.spec.restartPolicy", rp, ["OnFailure", "Never"]))
    return out


def _labels_value(template: Any) -> Any:
    labels = d(d(template).get("metadata")).get("labels")
    return GoValue("map[string]string(nil)") if labels is None else {k: str(v) for k, v in d(labels).items()}


def validate_job(obj: Obj) -> list[Cause]:
    spec = d(obj.get("spec"))
    meta = d(obj.get("metadata"))
    out: list[Cause] = []
    template = spec.get("template")
    tlabels = d(d(template).get("metadata")).get("labels")
    if spec.get("manualSelector") is not True:
        if tlabels is None:
            return [required("spec.template.metadata.labels")]
        ml = d(d(spec.get("selector")).get("matchLabels"))
        if isinstance(d(spec.get("selector")).get("matchLabels"), dict) and ml.get(CONTROLLER_UID) != s(
                meta.get("uid")):
            out.append(invalid("spec.selector.matchLabels", {k: str(v) for k, v in ml.items()},
                               "`selector` not auto-generated"))
    out.extend(_validate_job_spec_common(spec, "spec"))
    sel = spec.get("selector")
    if sel is None:
        out.append(required("spec.selector"))
    else:
        out.extend(validate_label_selector(sel, "spec.selector"))
    labels = {k: str(v) for k, v in d(tlabels).items()}
    if selector_matches(sel, labels) is False:
        out.append(invalid("spec.template.metadata.labels", _labels_value(template), SELECTOR_MISMATCH))
    return out


_SCHEDULING_FIELDS = ("nodeSelector", "affinity", "tolerations", "schedulingGates")


def _template_without_scheduling(template: Any) -> Obj:
    t = dict(d(template))
    t["metadata"] = {k: v for k, v in d(t.get("metadata")).items() if k not in ("labels", "annotations")}
    t["spec"] = {k: v for k, v in d(t.get("spec")).items() if k not in _SCHEDULING_FIELDS}
    return t


def validate_job_update(new: Obj, old: Obj) -> list[Cause]:
    out = validate_job(new)
    nspec, ospec = d(new.get("spec")), d(old.get("spec"))
    if nspec.get("selector") != ospec.get("selector"):
        out.append(immutable("spec.selector", selector_value(nspec.get("selector"))))
    if nspec.get("completions") != ospec.get("completions") and not (
            nspec.get("completionMode") == "Indexed" and nspec.get("completions") == nspec.get("parallelism")):
        out.append(immutable("spec.completions", nspec.get("completions")))
    nt, ot = nspec.get("template"), ospec.get("template")
    if nt != ot:
        suspended = ospec.get("suspend") is True and not d(old.get("status")).get("startTime")
        if not suspended or _template_without_scheduling(nt) != _template_without_scheduling(ot):
            out.append(immutable("spec.template", GoValue("core.PodTemplateSpec{...}")))
    if nspec.get("completionMode") != ospec.get("completionMode"):
        out.append(immutable("spec.completionMode", nspec.get("completionMode")))
    if nspec.get("podFailurePolicy") != ospec.get("podFailurePolicy"):
        out.append(immutable("spec.podFailurePolicy", GoValue("&batch.PodFailurePolicy{...}")))
    return out


# --- CronJob ---------------------------------------------------------------------------------------------------

_DESCRIPTORS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
_FIELD_RANGES = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 6)]
_NAMES = [{}, {}, {}, {m: i + 1 for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))},
    {w: i for i, w in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}]


def _cron_number(text: str, field_index: int) -> int:
    named = _NAMES[field_index].get(text.lower())
    if named is not None:
        return named
    if not re.fullmatch(r"[0-9]+", text):
        raise ValueError(f'failed to parse int from {text}: strconv.Atoi: parsing "{text}": invalid syntax')
    return int(text)


def _check_cron_range(expr: str, field_index: int) -> None:
    lo_lim, hi_lim = _FIELD_RANGES[field_index]
    body, _, step = expr.partition("/")
    if body in ("*", "?"):
        lo, hi = lo_lim, hi_lim
    else:
        a, dash, b = body.partition("-")
        lo = _cron_number(a, field_index)
        hi = _cron_number(b, field_index) if dash else lo
    if step:
        st = _cron_number(step, field_index)
        if st <= 0:
            raise ValueError(f"step of range should be a positive number: {expr}")
    if lo < lo_lim:
        raise ValueError(f"beginning of range ({lo}) below minimum ({lo_lim}): {expr}")
    if hi > hi_lim and not (field_index == 4 and hi == 7):
        raise ValueError(f"end of range ({hi}) above maximum ({hi_lim}): {expr}")
    if lo > hi:
        raise ValueError(f"beginning of range ({lo}) beyond end of range ({hi}): {expr}")


def parse_schedule_error(schedule: str) -> str | None:
    """None when robfig/cron's standard parser accepts the schedule, else its error text."""
    spec = schedule.strip()
    if spec.startswith("@"):
        if spec in _DESCRIPTORS or spec.startswith("@every "):
            return None
        return f"unrecognized descriptor: {spec}"
    fields = spec.split()
    if len(fields) != 5:
        return f"expected exactly 5 fields, found {len(fields)}: {spec}"
    try:
        for i, f in enumerate(fields):
            for part in f.split(","):
                _check_cron_range(part, i)
    except ValueError as e:
        return str(e)
    return None


_TZ_PART = re.compile(r"[A-Za-z._+\-0-9]+")


def _validate_time_zone(tz: Any) -> list[Cause]:
    if tz is None:
        return []
    name = s(tz)
    if not name:
        return [invalid("spec.timeZone", name, "timeZone must be nil or non-empty string")]
    for part in name.split("/"):
        if part in (".", "..") or part.startswith("-") or not _TZ_PART.fullmatch(part):
            return [invalid("spec.timeZone", name, f"unknown time zone {name}")]
    if name.lower() == "local":
        return [invalid("spec.timeZone", name, "timeZone must be an explicit time zone as defined in "
                        "https://www.iana.org/time-zones"),
                invalid("spec.timeZone", name, f"unknown time zone {name}")]
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return [invalid("spec.timeZone", name, f"unknown time zone {name}")]
    return []


def validate_cronjob(obj: Obj) -> list[Cause]:
    spec = d(obj.get("spec"))
    name = s(d(obj.get("metadata")).get("name"))
    out: list[Cause] = []
    if len(name) > 52:
        out.append(invalid("metadata.name", name, "must be no more than 52 characters"))
    sched = s(spec.get("schedule"))
    if not sched:
        out.append(required("spec.schedule"))
    elif "TZ" in sched:
        out.append(invalid("spec.schedule", sched, "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"))
    else:
        err = parse_schedule_error(sched)
        if err:
            out.append(invalid("spec.schedule", sched, err))
    out.extend(_validate_time_zone(spec.get("timeZone")))
    cp = s(spec.get("concurrencyPolicy"))
    if not cp:
        out.append(required("spec.concurrencyPolicy"))
    elif cp not in ("Allow", "Forbid", "Replace"):
        out.append(not_supported("spec.concurrencyPolicy", cp, ["Allow", "Forbid", "Replace"]))
    for key in ("startingDeadlineSeconds", "successfulJobsHistoryLimit", "failedJobsHistoryLimit"):
        out.extend(validate_nonnegative(spec.get(key), f"spec.{key}"))
    jt = d(spec.get("jobTemplate"))
    out.extend(_validate_job_spec_common(d(jt.get("spec")), "spec.jobTemplate.spec"))
    return out
