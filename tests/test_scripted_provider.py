"""ScriptedProvider: replaying turns from Python, JSON and YAML, and recording requests."""

from __future__ import annotations

import asyncio
import json

import pytest

from allos_core.errors import ConfigError, ProviderError
from allos_core.messages import Message
from allos_core.plugins import create_plugin_manager
from allos_core.providers import ModelRequest, StreamDone, TextDelta, ToolCallDelta
from allos_core.testing import ScriptedProvider

TURNS = [
    {
        "text": "Looking.",
        "tool_calls": [
            {"id": "call_1", "name": "read_file", "arguments": {"path": "a.txt"}},
            {"name": "grep", "raw_arguments": '{"pattern": '},
        ],
        "usage": {"input_tokens": 11, "output_tokens": 7},
    },
    "All done here.",
]


def request(text: str = "go") -> ModelRequest:
    return ModelRequest([Message.user(text)])


def test_replays_turns_and_records_requests():
    provider = ScriptedProvider(TURNS)
    first = asyncio.run(provider.complete(request("first")))
    assert first.message.text == "Looking."
    read, grep = first.message.tool_calls
    assert (read.id, read.name, read.arguments) == ("call_1", "read_file", {"path": "a.txt"})
    assert grep.parse_error and grep.raw_arguments == '{"pattern": ' and grep.id
    assert first.finish_reason == "tool_calls"
    assert (first.usage.input_tokens, first.usage.output_tokens) == (11, 7)
    second = asyncio.run(provider.complete(request("second")))
    assert second.message.text == "All done here." and second.finish_reason == "stop"
    assert [r.messages[0].text for r in provider.requests] == ["first", "second"]
    assert provider.remaining == 0
    with pytest.raises(ProviderError, match="no turn left"):
        asyncio.run(provider.complete(request()))


def test_streams_text_word_by_word_then_the_response():
    provider = ScriptedProvider(TURNS[::-1])

    async def collect():
        return [event async for event in provider.stream(request())]

    events = asyncio.run(collect())
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["All", " done", " here."]
    assert isinstance(events[-1], StreamDone)
    events = asyncio.run(collect())
    deltas = [e for e in events if isinstance(e, ToolCallDelta)]
    assert [d.name for d in deltas] == ["read_file", "grep"]


def test_an_exception_turn_is_raised():
    provider = ScriptedProvider([ProviderError("boom", provider="scripted")])
    with pytest.raises(ProviderError, match="boom"):
        asyncio.run(provider.complete(request()))


@pytest.mark.parametrize("suffix", [".json", ".yaml", ".yml"])
def test_loads_scripts_from_files(tmp_path, suffix):
    import yaml

    path = tmp_path / f"script{suffix}"
    data = {"turns": TURNS}
    path.write_text(json.dumps(data) if suffix == ".json" else yaml.safe_dump(data))
    by_model = ScriptedProvider(model=str(path))  # `allos run -p scripted -m script.yaml`
    by_option = ScriptedProvider(script=path)
    for provider in (by_model, by_option):
        assert provider.turns == TURNS
        assert asyncio.run(provider.complete(request())).message.text == "Looking."


def test_a_bare_list_is_a_script_too(tmp_path):
    path = tmp_path / "turns.yaml"
    path.write_text("- hello\n- text: bye\n")
    assert ScriptedProvider(script=path).turns == ["hello", {"text": "bye"}]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not valid JSON/YAML"),
        ('{"steps": []}', "must be a list of turns"),
    ],
)
def test_bad_script_files_say_what_is_wrong(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ConfigError, match=message):
        ScriptedProvider(script=path)


def test_missing_script_and_no_turns_are_clear_errors(tmp_path):
    with pytest.raises(ConfigError, match="cannot read script"):
        ScriptedProvider(script=tmp_path / "nope.yaml")
    with pytest.raises(ConfigError) as err:
        ScriptedProvider()
    assert "-p scripted -m script.yaml" in err.value.hint


def test_registered_as_the_builtin_scripted_provider():
    providers = create_plugin_manager().providers()
    assert providers["scripted"] is ScriptedProvider
    assert ScriptedProvider.status().configured
