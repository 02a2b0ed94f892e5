"""`allos run --schema` as a subprocess against each provider's validating fake server.

The schema travels natively (OpenAI ``response_format``, Anthropic ``output_config``, Ollama
``format``), a first answer that does not match is sent back, and stdout is only the JSON value.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_support import run_allos, subprocess_env
from fakes.anthropic_server import FakeAnthropicServer
from fakes.ollama_server import FakeOllamaServer
from fakes.openai_server import FakeOpenAIServer

SERVERS = {"openai": FakeOpenAIServer, "anthropic": FakeAnthropicServer, "ollama": FakeOllamaServer}
#: where each API carries the schema
NATIVE_KEY = {"openai": "response_format", "anthropic": "output_config", "ollama": "format"}


@pytest.mark.parametrize("provider", list(SERVERS))
def test_schema_answer_pipes_through_json_loads_on_every_provider(provider, tmp_path):
    env = subprocess_env(tmp_path, OPENAI_API_KEY="sk-test", ANTHROPIC_API_KEY="sk-ant-test")
    with SERVERS[provider]() as server:
        server.queue_text('{"name": "allos", "stars": "many"}')  # stars is not an int
        server.queue_text('{"name": "allos", "stars": 42}')
        url = server.openai_base_url if provider == "openai" else server.base_url
        args = ["-p", provider, "--base-url", url] + (["-m", "llama3.2"] if provider == "ollama" else [])  # fmt: skip
        done = run_allos(
            "run", *args, "--schema", "name, stars int: how many", "describe this repo",
            env=env, cwd=Path(tmp_path),
        )  # fmt: skip
        bodies = server.message_bodies if provider == "anthropic" else server.chat_requests
        rejected = list(getattr(server, "rejections", None) or getattr(server, "validation_errors", []))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"name": "allos", "stars": 42}
    assert rejected == []
    assert len(bodies) == 2 and all(NATIVE_KEY[provider] in body for body in bodies)
    assert "stars" in json.dumps(bodies[1]["messages"][-1])  # the errors went back
