"""Validation of the core/v1 kinds other than Pod and Event: Service, Endpoints,
ConfigMap, Secret, Namespace, Node, PersistentVolume(Claim).

As in pkg/apis/core/validation. The rules a student meets first:
- a Service needs ports (unless it is headless or an ExternalName), each 1..65535
  with a name once there is more than one, no (port, protocol) twice; its ClusterIP
  may not change once allocated (endpoints and every client's DNS answer point at it);
- ConfigMap and Secret keys look like file names (`[-._a-zA-Z0-9]+`, they become
  files in volumes) and both hold at most 1 MiB; Secret values are base64.

Two departures, both documented where they are made: a NodePort outside
30000-32767 is rejected here (Kubernetes' allocator does it), and Endpoints may hold
loopback addresses (every minik8s pod IP is a 127.x address).
"""
from __future__ import annotations

import base64
import binascii
import json

from . import quantity
from .validation_container import dict_items
from .validation_field import (
    GoValue, OMIT, check, duplicate, forbidden, go_repr, immutable, int_field, invalid,
    is_config_map_key, is_dns1123_label, is_dns1123_subdomain, is_qualified_name,
    is_valid_ip, is_valid_label_value, is_valid_port_num, not_supported, required, too_long,
    type_invalid, validate_port_num_or_name,
)
from .validation_meta import validate_label_selector, validate_labels

SERVICE_TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")
PROTOCOLS = ("SCTP", "TCP", "UDP")
NODE_PORT_RANGE = (30000, 32767)
MAX_SECRET_SIZE = 1024 * 1024
ACCESS_MODES = ("ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod")
STANDARD_FINALIZERS = ("kubernetes", "orphan", "foregroundDeletion")


def _spec(obj: dict) -> dict:
    spec = obj.get("spec")
    return spec if isinstance(spec, dict) else {}


def _enum(value, allowed, path: str) -> list:
    if not value:
        return [required(path, "")]
    return [] if value in allowed else [not_supported(path, value, allowed)]


# --- Service ----------------------------------------------------------------------

def cluster_ips(spec: dict) -> list:
    return list(spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else []))


def validate_service(obj: dict, old: dict | None) -> list:
    spec, causes = _spec(obj), []
    stype = spec.get("type")
    causes += _enum(stype, SERVICE_TYPES, "spec.type")
    headless = spec.get("clusterIP") == "None"
    if stype == "ExternalName":
        if spec.get("clusterIP"):
            causes.append(forbidden("spec.clusterIP", "may not be set for ExternalName services"))
        name = spec.get("externalName") or ""
        if not name:
            causes.append(required("spec.externalName", ""))
        else:
            causes += check("spec.externalName", name, is_dns1123_subdomain(name.rstrip(".")))
    else:
        for i, ip in enumerate(cluster_ips(spec)):
            if ip != "None":
                causes += check(f"spec.clusterIPs[{i}]", ip, is_valid_ip(str(ip)))
    ports = spec.get("ports")
    if not ports and not headless and stype != "ExternalName":
        causes.append(required("spec.ports", ""))
    causes += _service_ports(spec, stype)
    causes += _enum(spec.get("sessionAffinity"), ("ClientIP", "None"), "spec.sessionAffinity")
    client_ip = (spec.get("sessionAffinityConfig") or {}).get("clientIP") or {}
    timeout = client_ip.get("timeoutSeconds")
    if spec.get("sessionAffinity") == "ClientIP" and isinstance(timeout, int) \
            and not 0 < timeout <= 86400:
        causes.append(invalid("spec.sessionAffinityConfig.clientIP.timeoutSeconds", timeout,
                              "must be greater than 0 and less than 86400"))
    causes += validate_labels(spec.get("selector"), "spec.selector")
    external = stype in ("NodePort", "LoadBalancer") or bool(spec.get("externalIPs"))
    etp = spec.get("externalTrafficPolicy")
    if not external and etp:
        causes.append(invalid("spec.externalTrafficPolicy", etp,
                              "may only be set for externally-accessible services"))
    elif external:
        causes += _enum(etp, ("Cluster", "Local"), "spec.externalTrafficPolicy")
    itp = spec.get("internalTrafficPolicy")
    if itp is None and stype in ("ClusterIP", "NodePort", "LoadBalancer"):
        causes.append(required("spec.internalTrafficPolicy", ""))
    elif itp is not None and itp not in ("Cluster", "Local"):
        causes.append(not_supported("spec.internalTrafficPolicy", itp, ["Cluster", "Local"]))
    if stype != "ExternalName":
        policy = spec.get("ipFamilyPolicy")
        policies = ("PreferDualStack", "RequireDualStack", "SingleStack")
        if policy is not None and policy not in policies:
            causes.append(not_supported("spec.ipFamilyPolicy", policy, policies))
        for i, fam in enumerate(spec.get("ipFamilies") or []):
            if fam not in ("IPv4", "IPv6"):
                causes.append(not_supported(f"spec.ipFamilies[{i}]", fam, ["IPv4", "IPv6"]))
    if old is not None:
        causes += _cluster_ip_update(spec, _spec(old))
    return causes


def _service_ports(spec: dict, stype) -> list:
    causes: list = []
    items = dict_items(spec.get("ports"), "spec.ports", causes)
    names, seen, node_ports = set(), set(), set()
    for i, port in items:
        p = f"spec.ports[{i}]"
        name = port.get("name") or ""
        if len(items) > 1 and not name:
            causes.append(required(p + ".name", ""))
        elif name:
            causes += check(p + ".name", name, is_dns1123_label(str(name)))
            if name in names:
                causes.append(duplicate(p + ".name", name))
            names.add(name)
        number = port.get("port")
        if number is None:
            number = 0
        if int_field(number, p + ".port", causes):
            causes += check(p + ".port", number, is_valid_port_num(number))
        causes += _enum(port.get("protocol"), PROTOCOLS, p + ".protocol")
        causes += validate_port_num_or_name(port.get("targetPort"), p + ".targetPort")
        key = (number, port.get("protocol"))
        if key in seen:
            causes.append(duplicate(p, GoValue(
                f'core.ServicePort{{Name:"", Protocol:{go_repr(key[1] or "")}, '
                f'AppProtocol:(*string)(nil), Port:{number}, TargetPort:intstr.IntOrString'
                f'{{Type:0, IntVal:0, StrVal:""}}, NodePort:0}}')))
        seen.add(key)
        node_port = port.get("nodePort")
        if not node_port:
            continue
        if stype == "ClusterIP":
            causes.append(forbidden(p + ".nodePort", "may not be used when `type` is 'ClusterIP'"))
        elif int_field(node_port, p + ".nodePort", causes):
            lo, hi = NODE_PORT_RANGE
            if not lo <= node_port <= hi:
                # The allocator's check in Kubernetes (--service-node-port-range).
                causes.append(invalid(p + ".nodePort", node_port, "provided port is not in the "
                                      f"valid range. The range of valid ports is {lo}-{hi}"))
            if (node_port, port.get("protocol")) in node_ports:
                causes.append(duplicate(p + ".nodePort", node_port))
            node_ports.add((node_port, port.get("protocol")))
    return causes


def _cluster_ip_update(spec: dict, old_spec: dict) -> list:
    """validateUpgradeDowngradeClusterIPs: an allocated ClusterIP never changes."""
    if "ExternalName" in (spec.get("type"), old_spec.get("type")):
        return []
    new_ips, old_ips = cluster_ips(spec), cluster_ips(old_spec)
    if old_ips == ["None"] and new_ips == ["None"]:
        return []
    if len(old_ips) == len(new_ips):
        return [invalid(f"spec.clusterIPs[{i}]", new_ips, "may not change once set")
                for i, ip in enumerate(old_ips) if ip != new_ips[i]]
    if old_ips and not new_ips:
        return [invalid("spec.clusterIPs[0]", new_ips or GoValue("[]string(nil)"),
                        "primary clusterIP can not be unset")]
    return []


# --- Endpoints, ConfigMap, Secret -------------------------------------------------

def validate_endpoints(obj: dict, old: dict | None) -> list:
    causes: list = []
    for i, subset in dict_items(obj.get("subsets"), "subsets", causes):
        p = f"subsets[{i}]"
        if not subset.get("addresses") and not subset.get("notReadyAddresses"):
            causes.append(required(p, "must specify `addresses` or `notReadyAddresses`"))
        for key in ("addresses", "notReadyAddresses"):
            for j, addr in dict_items(subset.get(key), f"{p}.{key}", causes):
                causes += check(f"{p}.{key}[{j}].ip", addr.get("ip", ""),
                                is_valid_ip(str(addr.get("ip") or "")))
                if addr.get("hostname"):
                    causes += check(f"{p}.{key}[{j}].hostname", addr["hostname"],
                                    is_dns1123_label(str(addr["hostname"])))
        ports = dict_items(subset.get("ports"), p + ".ports", causes)
        for j, port in ports:
            pp = f"{p}.ports[{j}]"
            if len(ports) > 1 and not port.get("name"):
                causes.append(required(pp + ".name", ""))
            elif port.get("name"):
                causes += check(pp + ".name", port["name"], is_dns1123_label(str(port["name"])))
            number = port.get("port", 0)
            if int_field(number, pp + ".port", causes):
                causes += check(pp + ".port", number, is_valid_port_num(number))
            causes += _enum(port.get("protocol"), PROTOCOLS, pp + ".protocol")
    return causes


def _data_keys(data, path: str, other: dict, other_name: str, causes: list) -> int:
    """Check the keys of data/binaryData; returns the total size of the values."""
    if data is None:
        return 0
    if not isinstance(data, dict):
        causes.append(type_invalid(path, data, "must be a map of string to string"))
        return 0
    total = 0
    for key, value in data.items():
        kp = f"{path}[{key}]"
        causes += check(kp, key, is_config_map_key(str(key)))
        if key in other:
            causes.append(invalid(kp, key, f"duplicate of key present in {other_name}"))
        if not isinstance(value, str):
            # kube-apiserver fails to decode such a body (400): a YAML `port: 3306` in
            # a ConfigMap must be quoted.
            causes.append(type_invalid(kp, value, "must be a string"))
            value = json.dumps(value)
        total += len(value)
    return total


def _immutable_data(obj: dict, old: dict | None) -> list:
    if old is None or not old.get("immutable"):
        return []
    causes = []
    if not obj.get("immutable"):
        causes.append(forbidden("immutable", "field is immutable when `immutable` is set"))
    for f in ("data", "binaryData"):
        if (obj.get(f) or {}) != (old.get(f) or {}):
            causes.append(forbidden(f, "field is immutable when `immutable` is set"))
    return causes


def validate_configmap(obj: dict, old: dict | None) -> list:
    causes: list = []
    data = obj.get("data") if isinstance(obj.get("data"), dict) else {}
    binary = obj.get("binaryData") if isinstance(obj.get("binaryData"), dict) else {}
    total = _data_keys(obj.get("data"), "data", binary, "binaryData", causes)
    total += _data_keys(obj.get("binaryData"), "binaryData", data, "data", causes)
    if total > MAX_SECRET_SIZE:
        causes.append(too_long("", MAX_SECRET_SIZE))
    return causes + _immutable_data(obj, old)


def validate_secret(obj: dict, old: dict | None) -> list:
    causes: list = []
    data = obj.get("data") if isinstance(obj.get("data"), dict) else {}
    _data_keys(obj.get("data"), "data", {}, "", causes)
    total = 0
    for key, value in data.items():
        if isinstance(value, str):
            try:
                total += len(base64.b64decode(value, validate=True))
            except (binascii.Error, ValueError):
                # A decode error in kube-apiserver; the value itself is never echoed.
                causes.append(invalid(f"data[{key}]", OMIT,
                                      f"illegal base64 data at input byte {_bad_b64_at(value)}"))
    if total > MAX_SECRET_SIZE:
        causes.append(too_long("data", MAX_SECRET_SIZE))
    stype = obj.get("type")
    need = {"kubernetes.io/dockercfg": [".dockercfg"],
            "kubernetes.io/dockerconfigjson": [".dockerconfigjson"],
            "kubernetes.io/ssh-auth": ["ssh-privatekey"],
            "kubernetes.io/tls": ["tls.crt", "tls.key"]}.get(stype, [])
    causes += [required(f"data[{k}]", "") for k in need if k not in data]
    if stype == "kubernetes.io/basic-auth" and "username" not in data and "password" not in data:
        causes += [required("data[username]", ""), required("data[password]", "")]
    if stype == "kubernetes.io/service-account-token" and not \
            ((obj.get("metadata") or {}).get("annotations") or {}).get(
                "kubernetes.io/service-account.name"):
        causes.append(required("metadata.annotations[kubernetes.io/service-account.name]", ""))
    if old is not None and (old.get("type") or "") != (stype or ""):
        causes.append(immutable("type", stype or ""))
    return causes + _immutable_data(obj, old)


def _bad_b64_at(value: str) -> int:
    alphabet = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
    for i, ch in enumerate(value):
        if ch not in alphabet and ch != "=":
            return i
    return len(value) - len(value) % 4


# --- Namespace, Node, volumes ----------------------------------------------------

def validate_namespace(obj: dict, old: dict | None) -> list:
    causes = []
    for f in _spec(obj).get("finalizers") or []:
        msgs = is_qualified_name(str(f))
        if not msgs and "/" not in str(f) and f not in STANDARD_FINALIZERS:
            msgs = ["name is neither a standard finalizer name nor is it fully qualified"]
        causes += check("spec.finalizers", f, msgs)
    return causes


def validate_node(obj: dict, old: dict | None) -> list:
    causes: list = []
    seen = set()
    for i, taint in dict_items(_spec(obj).get("taints"), "spec.taints", causes):
        p = f"spec.taints[{i}]"
        key = taint.get("key") or ""
        causes += check(p + ".key", key, is_qualified_name(key))
        if taint.get("value"):
            causes += check(p + ".value", taint["value"], is_valid_label_value(str(taint["value"])))
        causes += _enum(taint.get("effect"), ("NoSchedule", "PreferNoSchedule", "NoExecute"),
                        p + ".effect")
        if (key, taint.get("effect")) in seen:
            causes.append(duplicate(p, GoValue(f"core.Taint{{Key:{go_repr(key)}, "
                                               f"Effect:{go_repr(taint.get('effect') or '')}}}")))
        seen.add((key, taint.get("effect")))
    return causes


def _access_modes(spec: dict, detail: str = "") -> list:
    modes = spec.get("accessModes") or []
    if not modes:
        return [required("spec.accessModes", detail)]
    return [not_supported("spec.accessModes", m, ACCESS_MODES) for m in modes
            if m not in ACCESS_MODES]


def validate_pv(obj: dict, old: dict | None) -> list:
    from .validation_pod import VOLUME_SOURCES
    spec = _spec(obj)
    causes = _access_modes(spec)
    capacity = spec.get("capacity")
    if not capacity:
        causes.append(required("spec.capacity", ""))
    elif not isinstance(capacity, dict) or set(capacity) != {"storage"}:
        causes.append(not_supported("spec.capacity", GoValue(go_repr(sorted(capacity))),
                                    ["storage"]))
    else:
        causes += _quantity(capacity["storage"], "spec.capacity[storage]", positive=False)
    sources = [s for s in VOLUME_SOURCES + ("local",) if spec.get(s) is not None]
    if not sources:
        causes.append(required("spec", "must specify a volume type"))
    for extra in sources[1:]:
        causes.append(forbidden(f"spec.{extra}", "may not specify more than 1 volume type"))
    if "hostPath" in sources and not (spec["hostPath"] or {}).get("path"):
        causes.append(required("spec.hostPath.path", ""))
    policy = spec.get("persistentVolumeReclaimPolicy")
    if policy and policy not in ("Delete", "Recycle", "Retain"):
        causes.append(not_supported("spec.persistentVolumeReclaimPolicy", policy,
                                    ["Delete", "Recycle", "Retain"]))
    causes += _volume_mode_and_class(spec)
    return causes


def _volume_mode_and_class(spec: dict) -> list:
    causes = []
    mode = spec.get("volumeMode")
    if mode is not None and mode not in ("Block", "Filesystem"):
        causes.append(not_supported("spec.volumeMode", mode, ["Block", "Filesystem"]))
    if spec.get("storageClassName"):
        causes += check("spec.storageClassName", spec["storageClassName"],
                        is_dns1123_subdomain(str(spec["storageClassName"])))
    return causes


def _quantity(q, path: str, positive: bool) -> list:
    try:
        value = quantity.parse_quantity(q)
    except (ValueError, TypeError) as e:
        return [invalid(path, q if isinstance(q, str) else str(q), str(e))]
    if positive and value <= 0:
        return [invalid(path, GoValue(quantity.canonicalize(q)), "must be greater than zero")]
    if value < 0:
        return [invalid(path, quantity.canonicalize(q), "must be greater than or equal to 0")]
    return []


def validate_pvc(obj: dict, old: dict | None) -> list:
    spec = _spec(obj)
    causes = _access_modes(spec, "at least 1 access mode is required")
    if spec.get("selector") is not None:
        causes += validate_label_selector(spec["selector"], "spec.selector")
    requests = ((spec.get("resources") or {}).get("requests") or {}) \
        if isinstance(spec.get("resources"), dict) else {}
    if "storage" not in requests:
        causes.append(required("spec.resources[storage]", ""))
    else:
        causes += _quantity(requests["storage"], "spec.resources[storage]", positive=True)
    causes += _volume_mode_and_class(spec)
    if old is not None:
        old_spec = _spec(old)
        mutable = ("resources",) + (("volumeName",) if not old_spec.get("volumeName") else ())
        if {k: v for k, v in spec.items() if k not in mutable} != \
                {k: v for k, v in old_spec.items() if k not in mutable}:
            causes.append(forbidden("spec", "spec is immutable after creation except "
                                    "resources.requests and volumeAttributesClassName for "
                                    "bound claims"))
    return causes
