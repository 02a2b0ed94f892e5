"""The concise ``--schema`` syntax (``name, age int, bio: a short biography``): properties."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from allos_core.concise_schema import TYPES, parse_concise, schema_from_argument
from allos_core.errors import ConfigError
from allos_core.output import StructuredOutput

names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,15}", fullmatch=True)
kinds = st.sampled_from([None, *TYPES])
#: descriptions: no separators of their own, no leading/trailing space
descriptions = st.one_of(
    st.none(),
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters=",\n\r:"),
        min_size=1,
        max_size=30,
    )
    .map(str.strip)
    .filter(bool),
)
fields = st.lists(
    st.tuples(names, kinds, descriptions), min_size=1, max_size=8, unique_by=lambda f: f[0]
)


def render(items, separator):
    parts = []
    for name, kind, description in items:
        text = name + (f" {kind}" if kind else "")
        if description is not None:
            text += f": {description}"
        parts.append(text)
    return separator.join(parts)


@given(fields, st.sampled_from([", ", ",", "\n", " ,\n"]))
def test_every_field_becomes_a_required_property_with_its_type_and_description(items, separator):
    if separator == " ,\n":
        separator = "\n"
    schema = parse_concise(render(items, separator))
    assert schema["type"] == "object"
    assert list(schema["properties"]) == [name for name, _, _ in items]
    assert schema["required"] == [name for name, _, _ in items]
    for name, kind, description in items:
        prop = schema["properties"][name]
        assert prop["type"] == TYPES[kind or "str"]
        assert prop.get("description") == description


@given(fields)
def test_newline_form_keeps_commas_inside_descriptions(items):
    text = "\n".join(
        f"{name}: {description}, and more" if description else name
        for name, _, description in items
    )
    schema = parse_concise(text + "\n")  # any newline switches to the newline form
    for name, _, description in items:
        if description:
            assert schema["properties"][name]["description"] == f"{description}, and more"


@given(fields)
def test_concise_schema_is_a_valid_schema_that_openai_accepts_strictly(items):
    output = StructuredOutput(parse_concise(render(items, ", ")))
    assert output.strict and not output.wrapped


@given(fields)
def test_argument_of_the_same_schema_as_inline_json_gives_the_same_schema(items):
    schema = parse_concise(render(items, ", "))
    assert schema_from_argument(json.dumps(schema)) == schema


@given(st.text(max_size=40))
def test_any_text_either_parses_or_is_a_config_error(text):
    try:
        schema = parse_concise(text)
    except ConfigError as exc:
        assert exc.hint
    else:
        assert schema["properties"]


@pytest.mark.parametrize(
    "text", ["", " , ,", "1name", "name lists", "a, a", "na-me", "name int float"]
)
def test_malformed_field_lists_are_refused(text):
    with pytest.raises(ConfigError):
        parse_concise(text)


def test_the_example_from_llm():
    assert parse_concise("name, age int, bio: a short biography") == {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "age": {"type": "integer"},
            "bio": {"type": "string", "description": "a short biography"},
        },
        "required": ["name", "age", "bio"],
    }
