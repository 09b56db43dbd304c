"""Protobuf request bodies: the small subset that `kubectl create <generator>` sends.

kube-apiserver speaks JSON, YAML and protobuf. kubectl reads and writes JSON, except
for the generator commands — `kubectl create namespace|configmap|secret|deployment|
service|serviceaccount|job|cronjob` and `kubectl autoscale` — which POST `application/vnd.kubernetes.protobuf`
and give up on a 415 (no JSON retry). So we decode exactly those bodies into the JSON
dicts the pipeline works with, and answer in JSON (kubectl accepts that).

The wire format (contract §3.9): the magic `k8s\\x00`, then a `runtime.Unknown`
message {1: TypeMeta{1: apiVersion, 2: kind}, 2: raw object bytes, 3: contentEncoding,
4: contentType}. The object is a protobuf message whose field numbers are the
`protobuf:"..."` tags in k8s.io/api (ObjectMeta.name is 1, labels 11, ...). Only two
wire types occur here: varint (ints, bools) and length-delimited (strings, bytes,
nested messages, map entries {1: key, 2: value}).

Pitfall: Go's protobuf encoder writes every non-pointer field, even empty ones
(`generateName: ""`, `paused: false`), where its JSON encoder would omit them
(`omitempty`). We drop zero values so the result is what `kubectl create -f` would have
sent — except for pointer fields (`int?`, `bool?`), whose presence means "set": a
Deployment created with `--replicas=0` must keep `replicas: 0`.
A field we do not know is an error if it carries a value, never silently dropped.
"""
from __future__ import annotations

import base64

from minik8s.api import errors

CONTENT_TYPE = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"

# Schemas: field number -> (JSON name, type). A type is a scalar name below, a nested
# schema (dict), or a one-element list [schema] for a repeated message.
OBJECT_META = {1: ("name", "string"), 2: ("generateName", "string"),
               3: ("namespace", "string"), 4: ("selfLink", "skip"), 5: ("uid", "string"),
               6: ("resourceVersion", "string"), 7: ("generation", "int"),
               8: ("creationTimestamp", "skip"), 11: ("labels", "map"),
               12: ("annotations", "map"), 14: ("finalizers", "[string]")}
LABEL_SELECTOR = {1: ("matchLabels", "map"), 2: ("matchExpressions", [{
    1: ("key", "string"), 2: ("operator", "string"), 3: ("values", "[string]")}])}
CONTAINER = {1: ("name", "string"), 2: ("image", "string"), 3: ("command", "[string]"),
             4: ("args", "[string]"), 5: ("workingDir", "string"),
             6: ("ports", [{1: ("name", "string"), 2: ("hostPort", "int"),
                            3: ("containerPort", "int"), 4: ("protocol", "string"),
                            5: ("hostIP", "string")}]),
             7: ("env", [{1: ("name", "string"), 2: ("value", "string")}]),
             8: ("resources", {}), 13: ("terminationMessagePath", "string"),
             14: ("imagePullPolicy", "string"), 16: ("stdin", "bool"),
             17: ("stdinOnce", "bool"), 18: ("tty", "bool"),
             20: ("terminationMessagePolicy", "string")}
POD_SPEC = {2: ("containers", [CONTAINER]), 3: ("restartPolicy", "string"),
            4: ("terminationGracePeriodSeconds", "int?"), 6: ("dnsPolicy", "string"),
            7: ("nodeSelector", "map"), 8: ("serviceAccountName", "string"),
            9: ("serviceAccount", "string"), 10: ("nodeName", "string"),
            11: ("hostNetwork", "bool"), 12: ("hostPID", "bool"), 13: ("hostIPC", "bool"),
            16: ("hostname", "string"), 17: ("subdomain", "string"),
            19: ("schedulerName", "string"), 24: ("priorityClassName", "string")}
POD_TEMPLATE = {1: ("metadata", OBJECT_META), 2: ("spec", POD_SPEC)}
JOB_SPEC = {1: ("parallelism", "int?"), 2: ("completions", "int?"),
            3: ("activeDeadlineSeconds", "int?"), 4: ("selector", LABEL_SELECTOR),
            5: ("manualSelector", "bool?"), 6: ("template", POD_TEMPLATE),
            7: ("backoffLimit", "int?"), 8: ("ttlSecondsAfterFinished", "int?")}
SERVICE_SPEC = {1: ("ports", [{1: ("name", "string"), 2: ("protocol", "string"),
                               3: ("port", "int"), 4: ("targetPort", "intOrString"),
                               5: ("nodePort", "int"), 6: ("appProtocol", "string")}]),
                2: ("selector", "map"), 3: ("clusterIP", "string"), 4: ("type", "string"),
                5: ("externalIPs", "[string]"), 7: ("sessionAffinity", "string"),
                8: ("loadBalancerIP", "string"), 10: ("externalName", "string"),
                11: ("externalTrafficPolicy", "string"), 12: ("healthCheckNodePort", "int"),
                13: ("publishNotReadyAddresses", "bool")}
META = (1, ("metadata", OBJECT_META))
STATUS = (3, ("status", "skip"))       # the server ignores status on create
KINDS = {
    ("v1", "Namespace"): dict([META, (2, ("spec", {1: ("finalizers", "[string]")})), STATUS]),
    ("v1", "ConfigMap"): dict([META, (2, ("data", "map")), (3, ("binaryData", "map<bytes>")),
                               (4, ("immutable", "bool?"))]),
    ("v1", "Secret"): dict([META, (2, ("data", "map<bytes>")), (3, ("type", "string")),
                            (4, ("stringData", "map")), (5, ("immutable", "bool?"))]),
    ("v1", "ServiceAccount"): dict([META, (4, ("automountServiceAccountToken", "bool?"))]),
    ("v1", "Service"): dict([META, (2, ("spec", SERVICE_SPEC)), STATUS]),
    ("apps/v1", "Deployment"): dict([META, STATUS, (2, ("spec", {
        1: ("replicas", "int?"), 2: ("selector", LABEL_SELECTOR), 3: ("template", POD_TEMPLATE),
        4: ("strategy", {1: ("type", "string")}), 5: ("minReadySeconds", "int"),
        6: ("revisionHistoryLimit", "int?"), 7: ("paused", "bool"),
        9: ("progressDeadlineSeconds", "int?")}))]),
    ("batch/v1", "Job"): dict([META, (2, ("spec", JOB_SPEC)), STATUS]),
    ("autoscaling/v1", "HorizontalPodAutoscaler"): dict([META, STATUS, (2, ("spec", {
        1: ("scaleTargetRef", {1: ("kind", "string"), 2: ("name", "string"),
                               3: ("apiVersion", "string")}),
        2: ("minReplicas", "int?"), 3: ("maxReplicas", "int"),
        4: ("targetCPUUtilizationPercentage", "int?")}))]),
    ("batch/v1", "CronJob"): dict([META, STATUS, (2, ("spec", {
        1: ("schedule", "string"), 2: ("startingDeadlineSeconds", "int?"),
        3: ("concurrencyPolicy", "string"), 4: ("suspend", "bool?"),
        5: ("jobTemplate", {1: ("metadata", OBJECT_META), 2: ("spec", JOB_SPEC)}),
        6: ("successfulJobsHistoryLimit", "int?"), 7: ("failedJobsHistoryLimit", "int?"),
        8: ("timeZone", "string")}))]),
}


def decode(raw: bytes) -> dict:
    """A `k8s\\x00`-framed protobuf body -> the object as a JSON-shaped dict."""
    if not raw.startswith(MAGIC):
        raise errors.BadRequest("the protobuf body does not start with the k8s magic bytes")
    envelope = _fields(raw[len(MAGIC):])
    type_meta = {n: v for n, _, v in _fields(_first(envelope, 1, b""))}
    api_version = type_meta.get(1, b"").decode()
    kind = type_meta.get(2, b"").decode()
    schema = KINDS.get((api_version, kind))
    if schema is None:
        raise errors.UnsupportedMediaType(
            f"minik8s decodes protobuf bodies only for {', '.join(k for _, k in KINDS)}; "
            f"send {kind or 'this object'} as JSON instead, e.g. `kubectl create ... "
            "--dry-run=client -o yaml | kubectl apply -f -`")
    obj = {"apiVersion": api_version, "kind": kind}
    try:
        obj.update(_message(_first(envelope, 2, b""), schema, kind))
    except UnicodeDecodeError as e:
        raise errors.BadRequest(f"the protobuf body has a string that is not UTF-8: {e}") \
            from None
    return obj


def _first(fields, number, default):
    return next((v for n, _, v in fields if n == number), default)


def _message(data: bytes, schema: dict, path: str) -> dict:
    out: dict = {}
    for number, wire, value in _fields(data):
        if number not in schema:
            if not _is_zero(value):         # an unset Go field: nothing lost
                raise errors.UnsupportedMediaType(
                    f"{path}: protobuf field {number} is not in minik8s's subset; "
                    "send this object as JSON (kubectl create -f / apply -f)")
            continue
        name, typ = schema[number]
        where = f"{path}.{name}"
        if typ == "skip":
            continue
        if isinstance(typ, list):
            out.setdefault(name, []).append(_message(_bytes(value, where), typ[0], where))
        elif isinstance(typ, dict):
            out[name] = _message(_bytes(value, where), typ, where)
        elif typ.startswith("map"):
            entry = {n: v for n, _, v in _fields(_bytes(value, where))}
            val = entry.get(2, b"")
            out.setdefault(name, {})[entry.get(1, b"").decode()] = \
                base64.b64encode(val).decode() if typ == "map<bytes>" else val.decode()
        elif typ == "[string]":
            out.setdefault(name, []).append(_bytes(value, where).decode())
        elif typ == "string":
            out[name] = _bytes(value, where).decode()
        elif typ == "intOrString":
            ios = {n: v for n, _, v in _fields(_bytes(value, where))}
            out[name] = ios.get(3, b"").decode() if ios.get(1) == 1 else ios.get(2, 0)
        elif typ.startswith("bool"):
            out[name] = bool(_varint_value(value, where))
        else:                               # int, int?: two's complement int64
            value = _varint_value(value, where)
            out[name] = value - (1 << 64) if value >= 1 << 63 else value
    # omitempty: Go's JSON would not have written zero values of non-pointer fields.
    return {k: v for k, v in out.items()
            if v not in ("", 0, False, {}) or _pointer(schema, k)}


def _pointer(schema: dict, name: str) -> bool:
    return any(n == name and isinstance(t, str) and t.endswith("?") for n, t in schema.values())


def _is_zero(value) -> bool:
    """0, empty, or a message of zero values (Go writes empty structs too)."""
    if value in (0, b""):
        return True
    try:
        return isinstance(value, bytes) and all(_is_zero(v) for _, _, v in _fields(value))
    except errors.BadRequest:
        return False


def _bytes(value, where: str) -> bytes:
    if not isinstance(value, bytes):
        raise errors.BadRequest(f"protobuf body: {where} should be length-delimited")
    return value


def _varint_value(value, where: str) -> int:
    if not isinstance(value, int):
        raise errors.BadRequest(f"protobuf body: {where} should be a varint")
    return value


def _fields(data: bytes) -> list:
    """Parse one message into (field number, wire type, value) triples."""
    out, i = [], 0
    try:
        while i < len(data):
            key, i = _varint(data, i)
            number, wire = key >> 3, key & 7
            if wire == 0:
                value, i = _varint(data, i)
            elif wire == 2:
                n, i = _varint(data, i)
                value, i = data[i:i + n], i + n
                if i > len(data):
                    raise IndexError
            elif wire in (1, 5):            # fixed64 / fixed32: none in our subset
                size = 8 if wire == 1 else 4
                value, i = int.from_bytes(data[i:i + size], "little"), i + size
            else:
                raise IndexError
            out.append((number, wire, value))
    except IndexError:
        raise errors.BadRequest("the protobuf body is truncated or malformed") from None
    return out


def _varint(data: bytes, i: int):
    result = shift = 0
    while True:
        byte = data[i]
        i += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return result, i
