from __future__ import annotations

import json

import pytest

from core.text import (
    BadInput,
    check_value,
    has_lone_surrogate,
    loads_strict,
    scrub,
    scrub_value,
    utf8,
)


def test_lone_surrogates_are_found_and_pairs_are_not() -> None:
    assert has_lone_surrogate(json.loads('"x \\udc00 y"'))
    assert has_lone_surrogate(json.loads('"\\ud83d"'))
    assert not has_lone_surrogate(json.loads('"\\ud83d\\ude00"'))  # a pair: one emoji
    assert not has_lone_surrogate("plain text, 😀")


def test_check_value_names_the_path() -> None:
    bad = {"values": {"rationale": "x \udc00 y", "spans": [{"label": "ok"}]}}
    with pytest.raises(BadInput) as info:
        check_value(bad)
    assert info.value.path == "values.rationale"
    with pytest.raises(BadInput) as info:
        check_value({"a": [1.0, float("nan")]})
    assert info.value.path == "a[1]"
    with pytest.raises(BadInput, match="NUL") as info:
        check_value({"values": {"rationale": "a\x00b"}})
    assert info.value.path == "values.rationale"


def test_loads_strict_refuses_what_json_loads_accepts() -> None:
    for text in ("NaN", '{"x": Infinity}', "[-Infinity]", '"\\udc00"'):
        with pytest.raises(BadInput):
            loads_strict(text)
    deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises(BadInput, match="nested deeper"):
        loads_strict(deep)
    with pytest.raises(BadInput, match="nested deeper"):
        loads_strict("[" * 70 + "]" * 70)
    assert loads_strict('{"a": [1, 2.5, "😀"]}') == {"a": [1, 2.5, "😀"]}


def test_nul_is_refused_in_strings_and_keys() -> None:
    with pytest.raises(BadInput) as info:
        loads_strict('{"a": ["ok", "x\\u0000"]}')
    assert info.value.path == "a[1]"
    with pytest.raises(BadInput):
        check_value({"k\x00": 1})


def test_nan_is_refused_with_its_path() -> None:
    with pytest.raises(BadInput) as info:
        loads_strict('{"a": {"b": NaN}}')
    assert info.value.path == "a.b"
    with pytest.raises(BadInput) as info:
        loads_strict('{"a": 1e400}')
    assert info.value.path == "a"


def test_scrub_replaces_only_lone_surrogates() -> None:
    stored = json.loads('"x \\udc00 y \\ud83d\\ude00 \\ud800"')
    assert scrub(stored) == "x \ufffd y 😀 \ufffd"
    assert utf8(stored) == "x \ufffd y 😀 \ufffd".encode()
    assert utf8("plain") == b"plain"
    value = {"k\udc00": ["ok", {"t": "\udfff"}], "n": 1}
    assert scrub_value(value) == {"k\ufffd": ["ok", {"t": "\ufffd"}], "n": 1}
    clean = {"a": ["b"]}
    assert scrub_value(clean) == clean
