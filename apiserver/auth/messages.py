"""The Forbidden message kube-apiserver writes when authorization denies a request (its ``forbiddenMessage``
wrapped by ``NewForbidden``): ``<resource>[.<group>] ["<name>"] is forbidden: User "<u>" cannot <verb> resource
"<res>[/<sub>]" in API group "<g>" (in the namespace "<ns>" | at the cluster scope)``, or for non-resource paths
``forbidden: User "<u>" cannot <verb> path "<path>"``; a non-empty authorizer reason is appended after ": "."""

from __future__ import annotations

from apiserver.auth.attributes import Attributes


def _denial(attrs: Attributes) -> str:
    user = attrs.user.name
    if not attrs.resource_request:
        return f'User "{user}" cannot {attrs.verb} path "{attrs.path}"'
    resource = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
    where = f'in the namespace "{attrs.namespace}"' if attrs.namespace else "at the cluster scope"
    return f'User "{user}" cannot {attrs.verb} resource "{resource}" in API group "{attrs.api_group}" {where}'


def forbidden_message(attrs: Attributes, reason: str = "") -> str:
    detail = _denial(attrs)
    if reason:
        detail = f"{detail}: {reason}"
    if not attrs.resource_request or not attrs.resource:
        return f"forbidden: {detail}"
    qualified = f"{attrs.resource}.{attrs.api_group}" if attrs.api_group else attrs.resource
    if attrs.name:
        return f'{qualified} "{attrs.name}" is forbidden: {detail}'
    return f"{qualified} is forbidden: {detail}"
