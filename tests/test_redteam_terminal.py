"""Red-team pass on the terminal: strings a hostile server or file hands to CLI listings."""

from __future__ import annotations

from cli_support import NO_PROVIDER_ENV, invoke
from fakes.ollama_server import FakeModel, FakeOllamaServer

#: OSC 52 (set the clipboard) ended by ST (ESC \\, no BEL), a bidi override, a zero-width space
HOSTILE = "evil\x1b]52;c;aGk=\x1b\\\u202eledom\u200b:latest"


def test_models_listing_shows_a_hostile_model_id_escaped():
    # given: a provider server that names a model with escape sequences and a bidi override
    with FakeOllamaServer([FakeModel(HOSTILE), FakeModel("fine:latest")]) as server:
        # when: the user lists models
        result = invoke(
            "models", "-p", "ollama", env={**NO_PROVIDER_ENV, "OLLAMA_HOST": server.base_url}
        )
    # then: nothing raw reaches the terminal; the id is shown in its visible form
    assert result.exit_code == 0, result.stderr
    for raw in ("\x1b", "\u202e", "\u200b"):
        assert raw not in result.stdout + result.stderr
    assert "\\x1b]52;c;aGk=" in result.stdout and "<U+202E>" in result.stdout
    assert "fine:latest" in result.stdout
