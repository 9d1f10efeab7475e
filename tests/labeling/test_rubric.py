"""Rubric validation and value validation: every bad input names its field."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from core.errors import DomainError
from labeling.rubric import default_rubric, validate_rubric, validate_values
from tests.factories import valid_values

TEXT = "The capital of France is Paris. Some people say otherwise."
#       0123456789012345678901234567890123456789012345678901234567
PARIS = (25, 30)  # TEXT[25:30] == "Paris"
PEOPLE = (37, 43)  # TEXT[37:43] == "people"


def _rubric_errors(schema: Any) -> dict[str, list[str]]:
    with pytest.raises(DomainError) as info:
        validate_rubric(schema)
    return info.value.errors


def _value_errors(values: Any, text: str = TEXT) -> dict[str, list[str]]:
    with pytest.raises(DomainError) as info:
        validate_values(default_rubric(), values, text)
    return info.value.errors


def _dims(*dims: dict[str, Any]) -> Any:
    return {"dimensions": list(dims)}


def _choice(name: str, *values: str, **extra: Any) -> dict[str, Any]:
    options = [{"value": v, "label": v.title()} for v in values]
    return {"name": name, "type": "choice", "label": name, "options": options, **extra}


# --- rubrics ---------------------------------------------------------------------------------


def test_default_rubric_is_valid_and_returned_unchanged() -> None:
    schema = default_rubric()
    before = copy.deepcopy(schema)
    assert validate_rubric(schema) == before
    names = [d["name"] for d in schema["dimensions"]]
    assert names[:2] == ["harm", "hazard"]
    assert {"bias", "bias_target", "truthfulness", "fluency", "harmful_spans"} <= set(names)


def test_default_rubric_is_a_fresh_copy_each_time() -> None:
    first = default_rubric()
    first["dimensions"].clear()
    assert default_rubric()["dimensions"]


@pytest.mark.parametrize("schema", [None, [], {"dims": []}, {"dimensions": "harm"}])
def test_rubric_must_be_an_object_with_a_dimensions_list(schema: Any) -> None:
    assert "rubric" in _rubric_errors(schema)


def test_rubric_needs_a_dimension() -> None:
    assert "rubric.dimensions" in _rubric_errors({"dimensions": []})


def test_duplicate_dimension_names_name_the_second_one() -> None:
    errors = _rubric_errors(_dims(_choice("harm", "safe", "unsafe"), _choice("harm", "a", "b")))
    assert list(errors) == ["rubric.dimensions[1].name"]
    assert "duplicate" in errors["rubric.dimensions[1].name"][0]


@pytest.mark.parametrize("name", ["Harm", "1harm", "harm-level", "", None, "x" * 65])
def test_dimension_name_must_be_an_identifier(name: Any) -> None:
    errors = _rubric_errors(_dims({**_choice("ok", "a", "b"), "name": name}))
    assert "rubric.dimensions[0].name" in errors


def test_dimension_must_be_an_object() -> None:
    assert "rubric.dimensions[0]" in _rubric_errors(_dims("harm"))  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["rating", "", None, "Choice"])
def test_unknown_dimension_type(kind: Any) -> None:
    errors = _rubric_errors(_dims({**_choice("harm", "a", "b"), "type": kind}))
    assert list(errors) == ["rubric.dimensions[0].type"]


def test_required_must_be_boolean() -> None:
    errors = _rubric_errors(_dims(_choice("harm", "a", "b", required="yes")))
    assert "rubric.dimensions[0].required" in errors


@pytest.mark.parametrize("options", [[], None, "a,b", {"a": "A"}])
def test_choice_options_must_be_a_non_empty_list(options: Any) -> None:
    errors = _rubric_errors(_dims({**_choice("harm"), "options": options}))
    assert errors["rubric.dimensions[0].options"] == ["must be a non-empty list"]


def test_option_without_value_and_duplicate_option_are_named() -> None:
    dim = _choice("harm", "a", "a")
    dim["options"].append({"label": "no value"})
    errors = _rubric_errors(_dims(dim))
    assert "duplicate" in errors["rubric.dimensions[0].options[1]"][0]
    assert "rubric.dimensions[0].options[2]" in errors


def test_multi_choice_with_empty_options() -> None:
    dim = {"name": "tags", "type": "multi_choice", "label": "Tags", "options": []}
    assert "rubric.dimensions[0].options" in _rubric_errors(_dims(dim))


def test_spans_with_empty_labels() -> None:
    dim = {"name": "spans", "type": "spans", "label": "Spans", "labels": []}
    assert "rubric.dimensions[0].labels" in _rubric_errors(_dims(dim))


def test_positive_must_be_among_options() -> None:
    errors = _rubric_errors(_dims(_choice("harm", "safe", "unsafe", positive=["bad"])))
    assert "rubric.dimensions[0].positive" in errors


@pytest.mark.parametrize(
    ("lo", "hi"), [(5, 5), (5, 1), (1.0, 5), ("1", 5), (True, 5), (None, 5), (1, None)]
)
def test_likert_needs_integer_min_below_max(lo: Any, hi: Any) -> None:
    dim = {"name": "fluency", "type": "likert", "label": "Fluency", "min": lo, "max": hi}
    errors = _rubric_errors(_dims(dim))
    assert list(errors) == ["rubric.dimensions[0].min"]


def test_likert_scale_of_at_most_21_points() -> None:
    dim = {"name": "fluency", "type": "likert", "label": "F", "min": 0, "max": 21}
    assert "rubric.dimensions[0].max" in _rubric_errors(_dims(dim))
    dim["max"] = 20
    validate_rubric(_dims(dim))


def test_likert_anchors_must_be_texts() -> None:
    dim = {"name": "f", "type": "likert", "label": "F", "min": 1, "max": 5, "anchors": {"1": 3}}
    assert "rubric.dimensions[0].anchors" in _rubric_errors(_dims(dim))


@pytest.mark.parametrize("max_length", [0, 10_001, "10", 2.5])
def test_text_max_length_bounds(max_length: Any) -> None:
    dim = {"name": "why", "type": "text", "label": "Why", "max_length": max_length}
    assert "rubric.dimensions[0].max_length" in _rubric_errors(_dims(dim))


@pytest.mark.parametrize(
    "show_if",
    [
        {"dimension": "missing", "in": ["unsafe"]},
        {"dimension": "later", "in": ["x"]},  # only earlier dimensions count
        {"dimension": "score", "in": [1]},  # a likert parent cannot gate
        "harm",
        {"in": ["unsafe"]},
    ],
)
def test_show_if_must_name_an_earlier_choice_dimension(show_if: Any) -> None:
    schema = _dims(
        _choice("harm", "safe", "unsafe"),
        {"name": "score", "type": "likert", "label": "S", "min": 1, "max": 5},
        _choice("hazard", "weapons", "hate", show_if=show_if),
        _choice("later", "x", "y"),
    )
    errors = _rubric_errors(schema)
    assert list(errors) == ["rubric.dimensions[2].show_if"]


@pytest.mark.parametrize("wanted", [[], ["dangerous"], "unsafe", None])
def test_show_if_in_must_list_parent_values(wanted: Any) -> None:
    schema = _dims(
        _choice("harm", "safe", "unsafe"),
        _choice("hazard", "weapons", show_if={"dimension": "harm", "in": wanted}),
    )
    errors = _rubric_errors(schema)
    assert list(errors) == ["rubric.dimensions[1].show_if.in"]


def test_every_bad_dimension_is_reported_at_once() -> None:
    schema = _dims(
        _choice("harm", "safe", "unsafe"),
        {"name": "kind", "type": "stars", "label": "K"},
        {"name": "fluency", "type": "likert", "label": "F", "min": 3, "max": 1},
        _choice("harm", "a"),
    )
    errors = _rubric_errors(schema)
    assert set(errors) == {
        "rubric.dimensions[1].type",
        "rubric.dimensions[2].min",
        "rubric.dimensions[3].name",
    }


# --- values ----------------------------------------------------------------------------------


def test_valid_values_are_returned_clean() -> None:
    cleaned = validate_values(default_rubric(), valid_values(rationale=""), TEXT)
    assert cleaned == valid_values()  # the empty optional rationale is dropped


@pytest.mark.parametrize("values", [None, [], "harm=safe", 3])
def test_values_must_be_an_object(values: Any) -> None:
    assert "values" in _value_errors(values)


def test_unknown_dimension() -> None:
    errors = _value_errors(valid_values(colour="red"))
    assert errors == {"values.colour": ["unknown dimension"]}


@pytest.mark.parametrize("harm", ["dangerous", "Safe", 1, ["safe"]])
def test_choice_not_an_option(harm: Any) -> None:
    errors = _value_errors(valid_values(harm=harm))
    assert list(errors) == ["values.harm"]
    assert "is not one of" in errors["values.harm"][0]


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("age", "non-empty list"),
        ({"age": True}, "non-empty list"),
        (["age", "martian"], "not among"),
        (["age", "age"], "twice"),
    ],
)
def test_multi_choice_bad_values(target: Any, reason: str) -> None:
    errors = _value_errors(valid_values(bias="subtle", bias_target=target))
    assert list(errors) == ["values.bias_target"]
    assert reason in errors["values.bias_target"][0]


def test_multi_choice_empty_list_when_required_is_required() -> None:
    errors = _value_errors(valid_values(bias="subtle", bias_target=[]))
    assert errors == {"values.bias_target": ["required"]}


@pytest.mark.parametrize(
    ("fluency", "reason"),
    [
        (0, "off the scale"),
        (6, "off the scale"),
        (-1, "off the scale"),
        (True, "integer"),
        (False, "integer"),
        (3.0, "integer"),
        (4.5, "integer"),
        ("4", "integer"),
    ],
)
def test_likert_off_scale_or_not_an_integer(fluency: Any, reason: str) -> None:
    errors = _value_errors(valid_values(fluency=fluency))
    assert list(errors) == ["values.fluency"]
    assert reason in errors["values.fluency"][0]


def test_likert_ends_of_the_scale_are_valid() -> None:
    for fluency in (1, 5):
        assert validate_values(default_rubric(), valid_values(fluency=fluency), TEXT)[
            "fluency"
        ] == (fluency)


def test_text_dimension_type_and_length() -> None:
    assert "values.rationale" in _value_errors(valid_values(rationale=42))
    errors = _value_errors(valid_values(rationale="x" * 2001))
    assert "longer than 2000" in errors["values.rationale"][0]


def _span(start: int, end: int, label: str = "toxic", **extra: Any) -> dict[str, Any]:
    return {"start": start, "end": end, "label": label, **extra}


@pytest.mark.parametrize(
    ("span", "reason"),
    [
        (_span(50, len(TEXT) + 1), "outside the output"),
        (_span(len(TEXT), len(TEXT) + 3), "outside the output"),
        (_span(-1, 4), "outside the output"),
        (_span(10, 5), "outside the output"),
        (_span(5, 5), "outside the output"),  # an empty span marks nothing
        (_span(0, 3, "rude"), "unknown label"),
        (_span(0, 3, ["toxic"]), "unknown label"),  # type: ignore[arg-type]
        (_span(0, 3, {"toxic": 1}), "unknown label"),  # type: ignore[arg-type]
        (_span(*PARIS, text="London"), "does not match"),
        (_span(*PARIS, text="paris"), "does not match"),
        (_span(0.0, 3), "integers"),  # type: ignore[arg-type]
        (_span(True, 3), "integers"),
        (_span("0", 3), "integers"),  # type: ignore[arg-type]
        ("0-3", "must be an object"),
    ],
)
def test_bad_spans(span: Any, reason: str) -> None:
    errors = _value_errors(valid_values(harmful_spans=[_span(0, 3), span]))
    assert list(errors) == ["values.harmful_spans"]
    assert reason in errors["values.harmful_spans"][0]
    assert errors["values.harmful_spans"][0].startswith("span 1") or reason == "must be an object"


def test_spans_value_must_be_a_list() -> None:
    errors = _value_errors(valid_values(harmful_spans={"start": 0, "end": 3, "label": "toxic"}))
    assert errors == {"values.harmful_spans": ["must be a list of spans"]}


def test_span_at_the_very_end_is_valid() -> None:
    span = _span(len(TEXT) - 10, len(TEXT), "false_claim")
    cleaned = validate_values(default_rubric(), valid_values(harmful_spans=[span]), TEXT)
    assert cleaned["harmful_spans"][0]["text"] == "otherwise."


def test_overlapping_spans_are_sorted_and_carry_the_exact_text() -> None:
    spans = [
        _span(*PEOPLE, "stereotype"),
        _span(20, 30, "false_claim", text=TEXT[20:30]),
        _span(*PARIS, "toxic", note="dropped"),
        _span(*PARIS, "false_claim"),
    ]
    cleaned = validate_values(default_rubric(), valid_values(harmful_spans=spans), TEXT)
    assert cleaned["harmful_spans"] == [
        {"start": 20, "end": 30, "label": "false_claim", "text": "e is Paris"},
        {"start": 25, "end": 30, "label": "false_claim", "text": "Paris"},
        {"start": 25, "end": 30, "label": "toxic", "text": "Paris"},
        {"start": 37, "end": 43, "label": "stereotype", "text": "people"},
    ]


def test_spans_use_character_offsets_not_bytes() -> None:
    text = "Zoë says: “naïve” people are dangerous 🙂."
    start = text.index("people")
    span = _span(start, start + len("people"), "stereotype", text="people")
    cleaned = validate_values(default_rubric(), valid_values(harmful_spans=[span]), text)
    assert cleaned["harmful_spans"][0]["text"] == "people"


@pytest.mark.parametrize("missing", ["harm", "bias", "truthfulness", "informative", "fluency"])
def test_missing_required_dimension(missing: str) -> None:
    values = valid_values()
    del values[missing]
    assert _value_errors(values) == {f"values.{missing}": ["required"]}


@pytest.mark.parametrize("empty", [None, "", []])
def test_empty_required_answer_counts_as_missing(empty: Any) -> None:
    assert _value_errors(valid_values(harm=empty)) == {"values.harm": ["required"]}


def test_conditional_dimension_given_when_it_does_not_apply() -> None:
    errors = _value_errors(valid_values(harm="safe", hazard="weapons"))
    assert list(errors) == ["values.hazard"]
    assert "does not apply" in errors["values.hazard"][0]


def test_conditional_dimension_required_when_it_applies() -> None:
    assert _value_errors(valid_values(harm="unsafe")) == {"values.hazard": ["required"]}


def test_conditional_dimension_when_it_applies() -> None:
    cleaned = validate_values(default_rubric(), valid_values(harm="unsafe", hazard="hate"), TEXT)
    assert cleaned["hazard"] == "hate"


@pytest.mark.parametrize("bias", ["subtle", "explicit"])
def test_bias_target_appears_when_bias_is_not_none(bias: str) -> None:
    assert _value_errors(valid_values(bias=bias)) == {"values.bias_target": ["required"]}
    cleaned = validate_values(
        default_rubric(), valid_values(bias=bias, bias_target=["religion", "age"]), TEXT
    )
    assert cleaned["bias_target"] == ["religion", "age"]


def test_bias_target_refused_when_bias_is_none() -> None:
    errors = _value_errors(valid_values(bias="none", bias_target=["age"]))
    assert list(errors) == ["values.bias_target"]


def test_conditional_on_a_multi_choice_parent() -> None:
    schema = _dims(
        {
            "name": "tags",
            "type": "multi_choice",
            "label": "Tags",
            "options": [{"value": "a", "label": "A"}, {"value": "b", "label": "B"}],
        },
        _choice("why_b", "x", "y", required=True, show_if={"dimension": "tags", "in": ["b"]}),
    )
    validate_rubric(schema)
    assert validate_values(schema, {"tags": ["a"]}, TEXT) == {"tags": ["a"]}
    with pytest.raises(DomainError) as info:
        validate_values(schema, {"tags": ["a", "b"]}, TEXT)
    assert info.value.errors == {"values.why_b": ["required"]}


def test_every_bad_value_is_reported_at_once() -> None:
    values = valid_values(fluency=9, harm="unsafe", colour="red", informative="maybe")
    errors = _value_errors(values)
    assert set(errors) == {"values.fluency", "values.colour", "values.hazard", "values.informative"}


def test_hotkeys_are_one_letter_and_unique_across_the_rubric() -> None:
    schema: Any = default_rubric()
    validate_rubric(schema)
    schema["dimensions"][2]["options"][0]["hotkey"] = "q"  # harm's "safe" has q
    schema["dimensions"][0]["options"][1]["hotkey"] = "s"  # s skips
    schema["dimensions"][4]["options"][0]["hotkey"] = "YY"
    schema["dimensions"][7]["snap_to_words"] = "yes"
    with pytest.raises(DomainError) as err:
        validate_rubric(schema)
    errors = err.value.errors
    assert "duplicate hotkey 'q'" in errors["rubric.dimensions[2].options[0].hotkey"][0]
    assert "reserved" in errors["rubric.dimensions[0].options[1].hotkey"][0]
    assert "one lowercase letter" in errors["rubric.dimensions[4].options[0].hotkey"][0]
    assert errors["rubric.dimensions[7].snap_to_words"] == ["must be true or false"]
