"""Label and field selectors behave as k8s.io/apimachinery's labels and fields do."""
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minik8s.api.errors import BadRequest
from minik8s.api.selectors import (
    EVERYTHING, NOTHING, Requirement, Selector, check_field_selector, format_label_selector,
    format_labels, matches_labels, parse_field_selector, parse_label_selector,
    selector_from_dict, selector_from_set)

WEB = {"app": "web", "tier": "front"}


# ------------------------------------------------------------------ each operator
@pytest.mark.parametrize("selector, labels, expected", [
    ("app=web", WEB, True),
    ("app=db", WEB, False),
    ("app==web", WEB, True),
    ("app!=db", WEB, True),
    ("app!=web", WEB, False),
    ("tier in (front,back)", WEB, True),
    ("tier in (back)", WEB, False),
    ("tier notin (back)", WEB, True),
    ("tier notin (front,back)", WEB, False),
    ("app", WEB, True),
    ("canary", WEB, False),
    ("!canary", WEB, True),
    ("!app", WEB, False),
    ("app=web,tier=front", WEB, True),
    ("app=web,tier=back", WEB, False),
])
def test_each_operator(selector, labels, expected):
    assert parse_label_selector(selector).matches(labels) is expected


@pytest.mark.parametrize("selector", ["app!=web", "app notin (web)", "!app"])
def test_negative_operators_match_objects_without_the_label(selector):
    assert parse_label_selector(selector).matches({}) is True


@pytest.mark.parametrize("selector", ["app=web", "app in (web)", "app", "app==web"])
def test_positive_operators_need_the_label(selector):
    assert parse_label_selector(selector).matches({"other": "web"}) is False


def test_empty_value_means_label_present_and_empty():
    sel = parse_label_selector("app=")
    assert sel.matches({"app": ""})
    assert not sel.matches({})
    assert not sel.matches({"app": "web"})


def test_set_with_empty_words_contains_the_empty_value():
    assert str(parse_label_selector("x in (foo,,baz)")) == "x in (,baz,foo)"
    assert parse_label_selector("x in (foo,,baz)").matches({"x": ""})
    assert parse_label_selector("z notin ()").requirements == (Requirement("z", "notin", ("",)),)


def test_in_and_notin_are_plain_words_where_values_stand():
    assert parse_label_selector("x in (in,notin)").matches({"x": "notin"})


def test_gt_and_lt_compare_integers():
    assert parse_label_selector("gpus>2").matches({"gpus": "3"})
    assert not parse_label_selector("gpus>2").matches({"gpus": "2"})
    assert parse_label_selector("gpus<2").matches({"gpus": "1"})
    assert not parse_label_selector("gpus<2").matches({"gpus": "many"})
    assert not parse_label_selector("gpus<2").matches({})


# ------------------------------------------------------------------ canonical string
@pytest.mark.parametrize("text, canonical", [
    ("tier in (b,a),app=web", "app=web,tier in (a,b)"),
    ("  app  =  web , tier notin ( x , y ) ", "app=web,tier notin (x,y)"),
    ("b,!a", "!a,b"),
    ("a==b,c!=d", "a==b,c!=d"),
    ("example.com/role=db", "example.com/role=db"),
    ("", ""),
])
def test_string_form_is_sorted_by_key_and_whitespace_tolerant(text, canonical):
    assert str(parse_label_selector(text)) == canonical


@given(st.dictionaries(st.from_regex(r"[a-z]([a-z0-9.-]{0,10}[a-z0-9])?", fullmatch=True),
                       st.from_regex(r"([a-z0-9]([a-z0-9_.-]{0,10}[a-z0-9])?)?", fullmatch=True),
                       max_size=4))
def test_string_form_round_trips(labels):
    sel = selector_from_set(labels)
    again = parse_label_selector(str(sel))
    assert again == sel
    assert again.matches(labels)


# ------------------------------------------------------------------ parse errors
@pytest.mark.parametrize("text, message", [
    ("a b", "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"),
    ("a=(b)", "unable to parse requirement: found '(', expected: identifier"),
    ("a in b", "unable to parse requirement: found 'b' expected: '('"),
    ("a in (b", "unable to parse requirement: found '', expected: ',' or ')'"),
    ("a=b c", "found 'c', expected: ',' or 'end of string'"),
    (",a", "found ',', expected: !, identifier, or 'end of string'"),
    ("a,", "found '', expected: identifier after ','"),
    ("!a=b", "found '=', expected: ',' or 'end of string'"),
    ("a>x", "unable to parse requirement: values[0]: Invalid value: \"x\": "
            "for 'Gt', 'Lt' operators, the value must be an integer"),
])
def test_parse_errors_carry_kubernetes_messages(text, message):
    with pytest.raises(BadRequest) as err:
        parse_label_selector(text)
    assert err.value.message == message
    assert err.value.code == 400


def test_invalid_key_is_reported_like_kubernetes():
    with pytest.raises(BadRequest) as err:
        parse_label_selector("-app=web")
    assert err.value.message.startswith('unable to parse requirement: <nil>: Invalid value: "-app": '
                                        "name part must consist of alphanumeric characters")
    assert "(e.g. 'MyName',  or 'my.name',  or '123-abc'" in err.value.message


@pytest.mark.parametrize("key", ["a/b/c", "Example.com/x", "/x", "x" * 64, "a_"])
def test_invalid_keys_are_rejected(key):
    with pytest.raises(BadRequest):
        parse_label_selector(f"{key}=v")


def test_invalid_value_is_reported_with_its_path():
    with pytest.raises(BadRequest) as err:
        parse_label_selector("app=" + "x" * 64)
    assert err.value.message == ("unable to parse requirement: values[0][app]: Invalid value: \""
                                 + "x" * 64 + "\": must be no more than 63 characters")


def test_longest_valid_key_and_value_are_accepted():
    key = "a" * 253 + "/" + "b" * 63
    assert parse_label_selector(f"{key}={'c' * 63}").matches({key: "c" * 63})


# ------------------------------------------------------------------ LabelSelector dicts
def test_dict_form_converts_to_the_same_requirements():
    d = {"matchLabels": {"app": "web"},
         "matchExpressions": [{"key": "tier", "operator": "In", "values": ["b", "a"]},
                              {"key": "canary", "operator": "DoesNotExist"},
                              {"key": "env", "operator": "NotIn", "values": ["prod"]},
                              {"key": "team", "operator": "Exists"}]}
    sel = selector_from_dict(d)
    assert str(sel) == "app=web,!canary,env notin (prod),team,tier in (a,b)"
    assert sel.matches({"app": "web", "tier": "a", "team": "x"})
    assert not sel.matches({"app": "web", "tier": "a", "team": "x", "canary": "1"})
    assert not sel.matches({"app": "web", "tier": "a"})


def test_empty_selector_matches_everything_and_nil_matches_nothing():
    assert selector_from_dict({}) == EVERYTHING
    assert selector_from_dict({}).empty and selector_from_dict({}).matches({"a": "b"})
    assert selector_from_dict({"matchLabels": {}, "matchExpressions": []}).matches({})
    assert selector_from_dict(None) == NOTHING
    assert not NOTHING.matches({}) and not NOTHING.empty
    assert parse_label_selector("").empty


def test_dict_form_errors():
    with pytest.raises(BadRequest, match='"Foo" is not a valid label selector operator'):
        selector_from_dict({"matchExpressions": [{"key": "a", "operator": "Foo"}]})
    with pytest.raises(BadRequest, match="values set can't be empty"):
        selector_from_dict({"matchExpressions": [{"key": "a", "operator": "In", "values": []}]})
    with pytest.raises(BadRequest, match="values set must be empty for exists"):
        selector_from_dict({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]})
    with pytest.raises(BadRequest, match="key: Invalid value"):
        selector_from_dict({"matchLabels": {"bad key": "x"}})


def test_format_label_selector_for_columns():
    assert format_label_selector({"matchLabels": {"tier": "a", "app": "web"}}) == "app=web,tier=a"
    assert format_label_selector({}) == "<none>"
    assert format_label_selector(None) == "<none>"
    assert format_label_selector({"matchExpressions": [{"key": "a", "operator": "Nope"}]}) == "<error>"
    assert format_labels({"b": "2", "a": "1"}) == "a=1,b=2"
    assert format_labels({}) == "<none>"


def test_matches_labels_convenience():
    assert matches_labels({"matchLabels": {"app": "web"}}, WEB)
    assert not matches_labels({"matchLabels": {"app": "web"}}, None)
    assert not matches_labels(None, WEB)


def test_selector_is_a_frozen_value():
    sel = parse_label_selector("app=web")
    assert isinstance(sel, Selector) and sel == parse_label_selector(" app = web ")
    assert sel != parse_label_selector("app==web")     # the operator is kept as written
    with pytest.raises(AttributeError):
        sel.requirements = ()


# ------------------------------------------------------------------ field selectors
POD = {"kind": "Pod", "metadata": {"name": "web-1", "namespace": "default"},
       "spec": {"nodeName": "node-1", "restartPolicy": "Always"},
       "status": {"phase": "Running", "podIPs": [{"ip": "10.0.0.7"}], "podIP": "10.0.0.7"}}
PENDING = {"kind": "Pod", "metadata": {"name": "web-2", "namespace": "default"},
           "spec": {}, "status": {"phase": "Pending"}}
EVENT = {"kind": "Event", "metadata": {"name": "web.1", "namespace": "default"},
         "involvedObject": {"kind": "Pod", "name": "web-1", "namespace": "default", "uid": "u-1"},
         "reason": "Scheduled", "type": "Normal", "source": {"component": "default-scheduler"}}


@pytest.mark.parametrize("text, obj, expected", [
    ("metadata.name=web-1", POD, True),
    ("metadata.name==web-1", POD, True),
    ("metadata.name!=web-1", POD, False),
    ("spec.nodeName=node-1,status.phase=Running", POD, True),
    ("spec.nodeName=node-1,status.phase=Pending", POD, False),
    ("status.podIP=10.0.0.7", POD, True),
    ("spec.nodeName=", PENDING, True),          # unbound pods: the scheduler's own query
    ("spec.nodeName=", POD, False),
    ("spec.nodeName!=", PENDING, False),
    ("status.podIP=", PENDING, True),
    ("spec.hostNetwork=false", POD, True),      # an unset boolean reads "false"
    ("involvedObject.uid=u-1,involvedObject.kind=Pod", EVENT, True),
    ("involvedObject.fieldPath=", EVENT, True),
    ("source=default-scheduler", EVENT, True),
    ("reason=Killing", EVENT, False),
])
def test_field_selectors_on_pods_and_events(text, obj, expected):
    assert parse_field_selector(text).matches(obj) is expected


def test_event_source_falls_back_to_reporting_component():
    ev = {"reportingComponent": "kubelet", "source": {}}
    assert parse_field_selector("source=kubelet").matches(ev)


def test_node_unschedulable_compares_as_true_false():
    cordoned = {"spec": {"unschedulable": True}}
    assert parse_field_selector("spec.unschedulable=true").matches(cordoned)
    assert parse_field_selector("spec.unschedulable=false").matches({"spec": {}})


def test_field_selector_string_escapes_and_errors():
    fs = parse_field_selector(r"metadata.name=a\,b")
    assert fs.matches({"metadata": {"name": "a,b"}})
    assert fs.requires_exact_match("metadata.name") == "a,b"
    assert parse_field_selector("").empty and parse_field_selector("").matches({})
    for text, msg in [("foo", "invalid selector: 'foo'; can't understand 'foo'"),
                      ("a=b=c", "invalid field selector: unescaped character in value: 61"),
                      (r"a=b\x", r"invalid field selector: invalid escape sequence: \x")]:
        with pytest.raises(BadRequest) as err:
            parse_field_selector(text)
        assert err.value.message == msg


@pytest.mark.parametrize("kind, text", [
    ("Pod", "spec.nodeName=n,status.phase=Running,spec.schedulerName=s,status.nominatedNodeName="),
    ("Event", "involvedObject.name=x,reason=y,type=Normal,source=kubelet,reportingComponent=k"),
    ("Node", "spec.unschedulable=true,metadata.name=n"),
    ("Secret", "type=Opaque"),
    ("Namespace", "status.phase=Active"),
    ("Job", "status.successful=1"),
    ("ConfigMap", "metadata.name=a,metadata.namespace=b"),
])
def test_supported_fields_pass_the_check(kind, text):
    check_field_selector(kind, parse_field_selector(text))


@pytest.mark.parametrize("kind, text, message", [
    ("ConfigMap", "spec.foo=1", '"spec.foo" is not a known field selector: only '
                                '"metadata.name", "metadata.namespace"'),
    ("Deployment", "status.replicas=1", '"status.replicas" is not a known field selector: only '
                                        '"metadata.name", "metadata.namespace"'),
    ("Pod", "foo=bar", "field label not supported: foo"),
    ("Node", "metadata.namespace=x", "field label not supported: metadata.namespace"),
    ("Job", "status.succeeded=1", 'field label "status.succeeded" not supported for batchv1.Job'),
])
def test_unsupported_fields_are_bad_requests(kind, text, message):
    with pytest.raises(BadRequest) as err:
        check_field_selector(kind, parse_field_selector(text))
    assert err.value.message == message


def test_legacy_spec_host_means_node_name():
    fs = check_field_selector("Pod", parse_field_selector("spec.host=node-1"))
    assert str(fs) == "spec.nodeName=node-1" and fs.matches(POD)


def test_job_successful_reads_status_succeeded():
    assert parse_field_selector("status.successful=2").matches({"status": {"succeeded": 2}})
    assert parse_field_selector("status.successful=0").matches({"status": {}})


def test_gt_lt_take_go_integers_only():
    # Go's ParseInt: "1_0" and " 5" are label values, not numbers, so they never match.
    sel = parse_label_selector("a>3")
    assert sel.matches({"a": "5"}) and sel.matches({"a": "+4"})
    assert not sel.matches({"a": "1_0"}) and not sel.matches({"a": " 5"})
    assert not sel.matches({})
