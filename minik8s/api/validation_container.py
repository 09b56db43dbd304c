"""Validation of containers: names, images, ports, env, mounts, probes, resources.

In Kubernetes this is `validateContainers` and friends in
pkg/apis/core/validation/validation.go. Each container needs a name (a DNS-1123
label, unique in the pod) and an image; ports are 1..65535 with a TCP/UDP/SCTP
protocol and unique IANA-style names; a volume mount must name a volume of the
pod; a probe has exactly one handler; resource requests may not exceed limits.

Everything here runs after defaulting, so a field that defaulting always fills
(`imagePullPolicy`, `terminationMessagePolicy`, `protocol`) is reported as
`Required value` only when a client forced it empty — as in Kubernetes.
"""
from __future__ import annotations

from . import quantity
from .validation_field import (
    GoValue, check, duplicate, forbidden, int_field, invalid, is_config_map_key,
    is_dns1123_label, is_dns1123_subdomain, is_env_var_name, is_int, is_qualified_name,
    is_valid_port_name, is_valid_port_num, not_found, not_supported, required, type_invalid,
    validate_nonnegative, validate_port_num_or_name,
)

PROTOCOLS = ("SCTP", "TCP", "UDP")
PULL_POLICIES = ("Always", "IfNotPresent", "Never")
TERMINATION_MESSAGE_POLICIES = ("File", "FallbackToLogsOnError")
ENV_FIELD_PATHS = ("metadata.annotations", "metadata.labels", "metadata.name",
                   "metadata.namespace", "metadata.uid", "spec.nodeName",
                   "spec.serviceAccountName", "status.hostIP", "status.hostIPs",
                   "status.podIP", "status.podIPs")
RESOURCE_FIELD_REFS = ("limits.cpu", "limits.ephemeral-storage", "limits.memory",
                       "requests.cpu", "requests.ephemeral-storage", "requests.memory")
STANDARD_CONTAINER_RESOURCES = ("cpu", "memory", "ephemeral-storage")


def dict_items(value, path: str, causes: list) -> list:
    """(index, item) for a list of objects; a non-list is reported once."""
    if value is None:
        return []
    if not isinstance(value, list):
        causes.append(type_invalid(path, value, "must be a list"))
        return []
    out = []
    for i, item in enumerate(value):
        if isinstance(item, dict):
            out.append((i, item))
        else:
            causes.append(type_invalid(f"{path}[{i}]", item, "must be an object"))
    return out


def validate_containers(containers, volumes: set, path: str, *, init: bool = False,
                        names: set | None = None) -> list:
    """`names` is shared between containers and initContainers: names are unique
    across both lists (Kubernetes reports the clash on the init container)."""
    causes: list = []
    items = dict_items(containers, path, causes)
    if not init and not items and not causes:
        return [required(path, "")]
    names = set() if names is None else names
    for i, c in items:
        p = f"{path}[{i}]"
        name = c.get("name")
        if not name:
            causes.append(required(p + ".name", ""))
        else:
            causes += check(p + ".name", name, is_dns1123_label(str(name)))
            if name in names:
                causes.append(duplicate(p + ".name", name))
            names.add(name)
        if not c.get("image"):
            causes.append(required(p + ".image", ""))
        causes += _enum(c.get("terminationMessagePolicy"), TERMINATION_MESSAGE_POLICIES,
                        p + ".terminationMessagePolicy")
        causes += validate_ports(c.get("ports"), p + ".ports")
        causes += validate_env(c.get("env"), p + ".env")
        causes += validate_env_from(c.get("envFrom"), p + ".envFrom")
        causes += validate_volume_mounts(c.get("volumeMounts"), volumes, p + ".volumeMounts")
        causes += _enum(c.get("imagePullPolicy"), PULL_POLICIES, p + ".imagePullPolicy")
        causes += validate_resources(c.get("resources"), p + ".resources")
        causes += _container_probes_and_policy(c, p, init)
    return causes


def _enum(value, allowed, path: str) -> list:
    if not value:
        return [required(path, "")]
    if value not in allowed:
        return [not_supported(path, value, allowed)]
    return []


def _container_probes_and_policy(c: dict, p: str, init: bool) -> list:
    causes = []
    sidecar = init and c.get("restartPolicy") == "Always"
    if init and c.get("restartPolicy") not in (None, "Always"):
        causes.append(not_supported(p + ".restartPolicy", c["restartPolicy"], ["Always"]))
    if not init and c.get("restartPolicy") is not None:
        causes.append(forbidden(p + ".restartPolicy", "may not be set for non-init containers"))
    for probe in ("livenessProbe", "readinessProbe", "startupProbe", "lifecycle"):
        if c.get(probe) is None:
            continue
        if init and not sidecar:
            causes.append(forbidden(f"{p}.{probe}", "may not be set for init containers "
                                                     "without restartPolicy=Always"))
        elif probe == "lifecycle":
            for hook in ("postStart", "preStop"):
                if isinstance(c[probe], dict) and c[probe].get(hook) is not None:
                    causes += validate_handler(c[probe][hook], f"{p}.lifecycle.{hook}",
                                               ("exec", "httpGet", "tcpSocket", "sleep"))
        else:
            causes += validate_probe(c[probe], f"{p}.{probe}")
            st = c[probe].get("successThreshold") if isinstance(c[probe], dict) else None
            if probe != "readinessProbe" and is_int(st) and st != 1:
                causes.append(invalid(f"{p}.{probe}.successThreshold", st, "must be 1"))
    return causes


def validate_ports(ports, path: str) -> list:
    causes: list = []
    names = set()
    for i, port in dict_items(ports, path, causes):
        p = f"{path}[{i}]"
        name = port.get("name")
        if name:
            msgs = is_valid_port_name(str(name))
            if msgs:
                causes += check(p + ".name", name, msgs)
            elif name in names:
                causes.append(duplicate(p + ".name", name))
            else:
                names.add(name)
        cp = port.get("containerPort")
        if not cp:
            causes.append(required(p + ".containerPort", ""))
        elif int_field(cp, p + ".containerPort", causes):
            causes += check(p + ".containerPort", cp, is_valid_port_num(cp))
        hp = port.get("hostPort")
        if hp and int_field(hp, p + ".hostPort", causes):
            causes += check(p + ".hostPort", hp, is_valid_port_num(hp))
        causes += _enum(port.get("protocol"), PROTOCOLS, p + ".protocol")
    return causes


def validate_env(env, path: str) -> list:
    causes: list = []
    for i, ev in dict_items(env, path, causes):
        p = f"{path}[{i}]"
        if not ev.get("name"):
            causes.append(required(p + ".name", ""))
        else:
            causes += check(p + ".name", ev["name"], is_env_var_name(str(ev["name"])))
        if "value" in ev and ev["value"] is not None and not isinstance(ev["value"], str):
            causes.append(type_invalid(p + ".value", ev["value"], "must be a string"))
        source = ev.get("valueFrom")
        if source is None:
            continue
        sp = p + ".valueFrom"
        source = source if isinstance(source, dict) else {}
        kinds = [k for k in ("fieldRef", "resourceFieldRef", "configMapKeyRef", "secretKeyRef")
                 if source.get(k) is not None]
        for k in kinds:
            causes += _env_source(k, source[k], f"{sp}.{k}")
        if not kinds:
            causes.append(invalid(sp, "", "must specify one of: `fieldRef`, `resourceFieldRef`, "
                                          "`configMapKeyRef` or `secretKeyRef`"))
        elif ev.get("value"):
            causes.append(invalid(sp, "", "may not be specified when `value` is not empty"))
        elif len(kinds) > 1:
            causes.append(invalid(sp, "", "may not have more than one field specified at a time"))
    return causes


def _env_source(kind: str, ref, path: str) -> list:
    ref = ref if isinstance(ref, dict) else {}
    causes = []
    if kind == "fieldRef":
        fp = ref.get("fieldPath") or ""
        if not ref.get("apiVersion"):
            causes.append(required(path + ".apiVersion", ""))
        if not fp:
            causes.append(required(path + ".fieldPath", ""))
        elif fp.split("[", 1)[0] not in ENV_FIELD_PATHS:
            causes.append(not_supported(path + ".fieldPath", fp, ENV_FIELD_PATHS))
    elif kind == "resourceFieldRef":
        res = ref.get("resource") or ""
        if not res:
            causes.append(required(path + ".resource", ""))
        elif res not in RESOURCE_FIELD_REFS:
            causes.append(not_supported(path + ".resource", res, RESOURCE_FIELD_REFS))
    else:
        causes += check(path + ".name", ref.get("name", ""),
                        is_dns1123_subdomain(str(ref.get("name") or "")))
        key = ref.get("key")
        if not key:
            causes.append(required(path + ".key", ""))
        else:
            causes += check(path + ".key", key, is_config_map_key(str(key)))
    return causes


def validate_env_from(env_from, path: str) -> list:
    causes: list = []
    for i, ef in dict_items(env_from, path, causes):
        p = f"{path}[{i}]"
        if ef.get("prefix"):
            causes += check(p + ".prefix", ef["prefix"], is_env_var_name(str(ef["prefix"])))
        kinds = [k for k in ("configMapRef", "secretRef") if ef.get(k) is not None]
        for k in kinds:
            name = (ef[k] or {}).get("name") if isinstance(ef[k], dict) else None
            if not name:
                causes.append(required(f"{p}.{k}.name", ""))
            else:
                causes += check(f"{p}.{k}.name", name, is_dns1123_subdomain(str(name)))
        if not kinds:
            causes.append(invalid(p, "", "must specify one of: `configMapRef` or `secretRef`"))
        elif len(kinds) > 1:
            causes.append(invalid(p, "", "may not have more than one field specified at a time"))
    return causes


def validate_volume_mounts(mounts, volumes: set, path: str) -> list:
    causes: list = []
    mount_points = set()
    for i, m in dict_items(mounts, path, causes):
        p = f"{path}[{i}]"
        name, mount_path = m.get("name") or "", m.get("mountPath") or ""
        if not name:
            causes.append(required(p + ".name", ""))
        if name not in volumes:
            causes.append(not_found(p + ".name", name))
        if not mount_path:
            causes.append(required(p + ".mountPath", ""))
        if mount_path in mount_points:
            causes.append(invalid(p + ".mountPath", mount_path, "must be unique"))
        mount_points.add(mount_path)
        sub = m.get("subPath") or ""
        # Kubernetes reports subPath at the list's path, without the index.
        if sub.startswith("/"):
            causes.append(invalid(path + ".subPath", sub, "must be a relative path"))
        if ".." in sub.split("/"):
            causes.append(invalid(path + ".subPath", sub, "must not contain '..'"))
    return causes


def validate_probe(probe, path: str) -> list:
    if not isinstance(probe, dict):
        return [type_invalid(path, probe, "must be an object")]
    causes = validate_handler(probe, path, ("exec", "httpGet", "tcpSocket", "grpc"))
    for f in ("initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold",
              "failureThreshold"):
        causes += validate_nonnegative(probe.get(f), f"{path}.{f}")
    grace = probe.get("terminationGracePeriodSeconds")
    if is_int(grace) and grace <= 0:
        causes.append(invalid(path + ".terminationGracePeriodSeconds", grace,
                              "must be greater than 0"))
    return causes


def validate_handler(handler, path: str, kinds: tuple) -> list:
    """Exactly one handler; every one after the first is reported as Forbidden."""
    handler = handler if isinstance(handler, dict) else {}
    causes, found = [], 0
    for kind in kinds:
        action = handler.get(kind)
        if action is None:
            continue
        if found:
            causes.append(forbidden(f"{path}.{kind}", "may not specify more than 1 handler type"))
            continue
        found += 1
        action = action if isinstance(action, dict) else {}
        p = f"{path}.{kind}"
        if kind == "exec" and not action.get("command"):
            causes.append(required(p + ".command", ""))
        elif kind == "httpGet":
            if not action.get("path"):
                causes.append(required(p + ".path", ""))
            causes += validate_port_num_or_name(action.get("port"), p + ".port")
            if action.get("scheme") not in ("HTTP", "HTTPS"):
                causes.append(not_supported(p + ".scheme", action.get("scheme") or "",
                                            ["HTTP", "HTTPS"]))
        elif kind == "tcpSocket":
            causes += validate_port_num_or_name(action.get("port"), p + ".port")
        elif kind == "grpc":
            port = action.get("port") or 0
            if int_field(port, p + ".port", causes):
                causes += check(p + ".port", port, is_valid_port_num(port))
        elif kind == "sleep":
            causes += validate_nonnegative(action.get("seconds"), p + ".seconds")
    if not found:
        causes.append(required(path, "must specify a handler type"))
    return causes


def _native(name: str) -> bool:
    return "/" not in name or "kubernetes.io/" in name


def _overcommit_allowed(name: str) -> bool:
    """Extended resources and hugepages must have requests == limits."""
    return _native(name) and not name.startswith("hugepages-")


def validate_resources(resources, path: str) -> list:
    """Names are standard or qualified; quantities parse and are >= 0; requests <= limits."""
    if resources is None:
        return []
    if not isinstance(resources, dict):
        return [type_invalid(path, resources, "must be an object")]
    causes: list = []
    parsed = {}
    for part in ("limits", "requests"):
        values = resources.get(part) or {}
        if not isinstance(values, dict):
            causes.append(type_invalid(f"{path}.{part}", values, "must be a map of quantities"))
            continue
        for name, q in values.items():
            p = f"{path}.{part}[{name}]"
            causes += _resource_name(str(name), p)
            try:
                value = quantity.parse_quantity(q)
            except (ValueError, TypeError) as e:
                causes.append(invalid(p, q if isinstance(q, str) else str(q), str(e)))
                continue
            parsed[(part, name)] = value
            if value < 0:
                causes.append(invalid(p, quantity.canonicalize(q), "must be greater than or "
                                                                     "equal to 0"))
            elif not _native(str(name)) and value.denominator != 1:
                # A Quantity (a fmt.Stringer) prints unquoted here.
                causes.append(invalid(p, GoValue(quantity.canonicalize(q)), "must be an integer"))
    limits = resources.get("limits") if isinstance(resources.get("limits"), dict) else {}
    for (part, name), req in parsed.items():
        if part != "requests":
            continue
        text = quantity.canonicalize(resources["requests"][name])
        if ("limits", name) in parsed:
            lim = parsed[("limits", name)]
            lim_text = quantity.canonicalize(limits[name])
            if req != lim and not _overcommit_allowed(str(name)):
                causes.append(invalid(path + ".requests", text,
                                      f"must be equal to {name} limit of {lim_text}"))
            elif req > lim:
                causes.append(invalid(path + ".requests", text,
                                      f"must be less than or equal to {name} limit of {lim_text}"))
        elif not _overcommit_allowed(str(name)):
            causes.append(required(path + ".limits",
                                   "Limit must be set for non overcommitable resources"))
    return causes


def _resource_name(name: str, path: str) -> list:
    causes = check(path, name, is_qualified_name(name))
    if "/" not in name:
        if name not in STANDARD_CONTAINER_RESOURCES and not name.startswith("hugepages-"):
            causes.append(invalid(path, name, "must be a standard resource for containers"))
    elif not _native(name) and (name.startswith("requests.") or
                                is_qualified_name("requests." + name)):
        causes.append(invalid(path, name, "doesn't follow extended resource name standard"))
    return causes
