"""Resource quantities parse, round and print as k8s.io/apimachinery/pkg/api/resource does."""
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from minik8s.api.quantity import (
    FORMAT_ERROR, MAX, canonicalize, format_quantity, parse_quantity, quantity_format,
    to_int, to_millis)


@pytest.mark.parametrize("text, value", [
    ("0", 0),
    ("2", 2),
    ("500m", Fraction(1, 2)),
    ("0.5", Fraction(1, 2)),
    (".5", Fraction(1, 2)),
    ("1.", 1),
    ("+3", 3),
    ("-1.5", Fraction(-3, 2)),
    ("100k", 100_000),
    ("1G", 10**9),
    ("128Mi", 128 * 2**20),
    ("1Gi", 2**30),
    ("1.5Gi", 3 * 2**29),
    ("1Ki", 1024),
    ("1Ei", 2**60),
    ("1e3", 1000),
    ("1E3", 1000),
    ("1e-3", Fraction(1, 1000)),
    ("12e+1", 120),
    ("5n", Fraction(5, 10**9)),
    ("10u", Fraction(1, 10**5)),
    ("250M", 250 * 10**6),
    ("2T", 2 * 10**12),
    ("3P", 3 * 10**15),
    ("1E", 10**18),
])
def test_parse_table(text, value):
    assert parse_quantity(text) == value


def test_parse_is_exact():
    assert parse_quantity("0.1") + parse_quantity("0.2") == parse_quantity("0.3")


def test_json_numbers_are_quantities_too():
    assert parse_quantity(2) == 2
    assert parse_quantity(0.5) == Fraction(1, 2)
    assert parse_quantity(Fraction(1, 4)) == Fraction(1, 4)


@pytest.mark.parametrize("text", ["", " 1", "1 ", "aoeu", "1.1.M", "1+1.0M", "Mi", ".", "e3",
                                  "0.1am", "1Gi ", "--1"])
def test_malformed_quantities_use_kubernetes_message(text):
    with pytest.raises(ValueError) as err:
        parse_quantity(text)
    assert str(err.value) == FORMAT_ERROR
    assert "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'" in str(err.value)


@pytest.mark.parametrize("text", ["1K", "1i", ".5i", "0.1mi", "-3.01e-", "1e", "1ee3", "1Ki5"])
def test_unknown_suffixes(text):
    with pytest.raises(ValueError, match="unable to parse quantity's suffix"):
        parse_quantity(text)


def test_values_round_up_to_a_nano_and_cap_at_int64():
    assert parse_quantity("0.1n") == Fraction(1, 10**9)
    assert parse_quantity("1e-12") == Fraction(1, 10**9)
    assert parse_quantity("-0.1n") == Fraction(-1, 10**9)
    assert parse_quantity("1e19") == MAX == 2**63 - 1
    assert parse_quantity("8Ei") == MAX
    assert parse_quantity("-1e30") == -MAX
    assert parse_quantity("1e999999999") == MAX          # no giant integers built
    assert parse_quantity("0e999999999") == 0


@pytest.mark.parametrize("text, millis, whole", [
    ("500m", 500, 1),
    ("0.5", 500, 1),
    ("2", 2000, 2),
    ("0.1m", 1, 1),        # MilliValue rounds up: some CPU is never zero
    ("1n", 1, 1),
    ("1.0001", 1001, 2),
    ("1Ki", 1024000, 1024),
    ("-1.5", -1500, -2),   # away from zero, like Kubernetes' ScaledValue
    ("0", 0, 0),
])
def test_to_millis_and_to_int_round_up(text, millis, whole):
    assert to_millis(text) == millis
    assert to_int(text) == whole


@pytest.mark.parametrize("text, canonical", [
    ("0.5", "500m"),
    ("500m", "500m"),
    ("1000m", "1"),
    ("1000", "1k"),
    ("1500", "1500"),
    ("100k", "100k"),
    ("0.1m", "100u"),
    ("1G", "1G"),
    ("1000M", "1G"),
    ("128Mi", "128Mi"),
    ("1024Mi", "1Gi"),
    ("1.5Gi", "1536Mi"),
    ("0.5Gi", "512Mi"),
    ("1536", "1536"),
    ("512Ki", "512Ki"),
    ("0.5Ki", "512"),       # binary below 1024 prints in decimal
    ("1e3", "1e3"),
    ("1e4", "10e3"),
    ("1E-2", "10e-3"),
    ("-1.5", "-1500m"),
    ("0", "0"),
    ("0Mi", "0"),
    ("1e-10", "1e-9"),
])
def test_canonical_form_keeps_the_suffix_family(text, canonical):
    assert canonicalize(text) == canonical


def test_quantity_format_of_a_string():
    assert quantity_format("1Gi") == "BinarySI"
    assert quantity_format("1G") == "DecimalSI"
    assert quantity_format("1e9") == "DecimalExponent"


@pytest.mark.parametrize("value, kind, text", [
    (Fraction(1, 10), "cpu", "100m"),
    (2, "cpu", "2"),
    (Fraction(5, 2), "cpu", "2500m"),
    (128 * 2**20, "memory", "128Mi"),
    (2**30, "storage", "1Gi"),
    (10**9, "memory", "1000000000"),   # not a multiple of 1024: plain bytes
    (2**21, "hugepages-2Mi", "2Mi"),
    (110, "pods", "110"),
])
def test_format_quantity_by_resource(value, kind, text):
    assert format_quantity(value, kind) == text


def test_format_quantity_explicit_format():
    assert format_quantity(2**30, "cpu", fmt="BinarySI") == "1Gi"
    assert format_quantity(1000, "memory", fmt="DecimalSI") == "1k"


@given(st.integers(min_value=-(2**62), max_value=2**62), st.integers(min_value=0, max_value=9),
       st.sampled_from(["cpu", "memory"]))
def test_format_then_parse_is_identity(mantissa, scale, kind):
    value = Fraction(mantissa, 10**scale)
    assert parse_quantity(format_quantity(value, kind)) == value
