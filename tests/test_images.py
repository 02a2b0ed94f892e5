"""Images: from the user (run --image, /image) and from read_file, on every provider's wire format.

The fake servers check image blocks the way the APIs do: Anthropic base64 image blocks (in user
messages and inside tool results), OpenAI ``image_url`` data URLs, Ollama ``images``; the bytes
must be an image of the stated type, and Ollama refuses images for a model without vision.
"""

from __future__ import annotations

import base64
import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_support import NO_PROVIDER_ENV, invoke
from fakes.anthropic_server import FakeAnthropicServer
from fakes.ollama_server import FakeModel, FakeOllamaServer
from fakes.openai_server import FakeOpenAIServer

from allos_core.agent import Agent
from allos_core.errors import ConfigError
from allos_core.images import MAX_IMAGE_BYTES, image_from_bytes, image_from_path, sniff_image
from allos_core.messages import Message
from allos_core.plugins import create_plugin_manager
from allos_core.sessions import Session

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
PROVIDERS = ["openai", "anthropic", "ollama"]


@contextlib.contextmanager
def serve(name: str, model: str = "llava") -> Iterator[tuple[Any, Any]]:
    if name == "openai":
        from allos_openai.provider import OpenAIProvider

        with FakeOpenAIServer() as server:
            yield (
                server,
                OpenAIProvider(
                    api_key="sk-t", base_url=server.openai_base_url, max_retries=0, vision=True
                ),
            )
    elif name == "anthropic":
        from allos_anthropic.provider import AnthropicProvider

        with FakeAnthropicServer() as server:
            yield (
                server,
                AnthropicProvider(api_key="sk-ant-t", base_url=server.base_url, max_retries=0),
            )
    else:
        from allos_ollama.provider import OllamaProvider

        models = [FakeModel("llava:latest", vision=True), FakeModel("llama3.2:latest")]
        with FakeOllamaServer(models) as server:
            yield server, OllamaProvider(model=model, base_url=server.base_url, max_retries=0)


def bodies(name: str, server: Any) -> list[dict[str, Any]]:
    return server.message_bodies if name == "anthropic" else server.chat_requests


def agent_for(provider: Any, workspace: Path, tools: list[str] | None = None) -> Agent:
    return Agent(
        provider,
        tools=tools if tools is not None else [],
        system_prompt="You look at things.",
        workspace=workspace,
        plugin_manager=create_plugin_manager() if tools else create_plugin_manager([]),
    )


# -- the image part -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "media_type"),
    [
        (PNG, "image/png"),
        (b"\xff\xd8\xff\xe0" + b"\0" * 12, "image/jpeg"),
        (b"GIF89a" + b"\0" * 10, "image/gif"),
        (b"RIFF\0\0\0\0WEBPVP8 ", "image/webp"),
        (b"<svg xmlns=...>", None),
    ],
)
def test_images_are_recognised_by_their_bytes(head: bytes, media_type: str | None) -> None:
    assert sniff_image(head) == media_type


def test_a_png_named_jpg_is_sent_as_png(tmp_path: Path) -> None:
    (tmp_path / "shot.jpg").write_bytes(PNG)
    assert image_from_path(tmp_path / "shot.jpg").media_type == "image/png"


def test_non_images_and_oversized_images_are_refused_with_a_hint() -> None:
    with pytest.raises(ConfigError, match="not a PNG, JPEG, GIF or WebP") as caught:
        image_from_bytes(b"%PDF-1.7 ...")
    assert caught.value.hint
    with pytest.raises(ConfigError, match="up to 5 MB"):
        image_from_bytes(PNG + b"\0" * MAX_IMAGE_BYTES)


def test_sessions_keep_images(tmp_path: Path) -> None:
    message = Message.user("look")
    message.parts.append(image_from_bytes(PNG))
    session = Session.open(tmp_path / "s.json")
    session.messages.append(message)
    session.save()
    assert Session.load(tmp_path / "s.json").messages[0].images[0].data == message.images[0].data


# -- on the wire ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", PROVIDERS)
def test_an_image_with_the_task_reaches_every_provider(name: str, tmp_path: Path) -> None:
    with serve(name) as (server, provider), agent_for(provider, tmp_path) as agent:
        result = agent.run("What is in the picture?", images=[image_from_bytes(PNG)])
        first = bodies(name, server)[0]

    assert result.stop_reason == "answered", result.error
    user = first["messages"][-1] if name == "anthropic" else first["messages"][1]
    encoded = base64.b64encode(PNG).decode()
    if name == "anthropic":
        image = user["content"][1]
        assert image["type"] == "image" and image["source"]["data"] == encoded
    elif name == "openai":
        assert user["content"][1]["image_url"]["url"] == f"data:image/png;base64,{encoded}"
    else:
        assert user["images"] == [encoded]


@pytest.mark.parametrize("name", PROVIDERS)
def test_read_file_shows_an_image_to_a_model_that_can_see(name: str, tmp_path: Path) -> None:
    (tmp_path / "shot.png").write_bytes(PNG)
    with serve(name) as (server, provider):
        server.queue_tool_call("read_file", {"path": "shot.png"})
        server.queue_text("A single pixel.")
        with agent_for(provider, tmp_path, tools=["read_file"]) as agent:
            result = agent.run("Look at shot.png")
        second = bodies(name, server)[1]

    assert result.stop_reason == "answered", result.error
    [part] = result.messages[-2].tool_results_parts
    assert not part.is_error and part.images[0].media_type == "image/png"
    wire = repr(second["messages"])
    assert base64.b64encode(PNG).decode() in wire
    if name == "anthropic":
        content = second["messages"][-1]["content"][0]["content"]
        assert [block["type"] for block in content] == ["text", "image"]


def test_read_file_says_so_when_the_model_cannot_see(tmp_path: Path) -> None:
    (tmp_path / "shot.png").write_bytes(PNG)
    with serve("ollama", model="llama3.2") as (server, provider):
        server.queue_tool_call("read_file", {"path": "shot.png"})
        server.queue_text("I cannot see it.")
        with agent_for(provider, tmp_path, tools=["read_file"]) as agent:
            result = agent.run("Look at shot.png")

    [part] = result.messages[-2].tool_results_parts
    assert part.is_error and "cannot see images" in part.content and not part.images


def test_read_file_refuses_an_image_outside_the_workspace(tmp_path: Path) -> None:
    outside = tmp_path / "outside.png"
    outside.write_bytes(PNG)
    workspace = tmp_path / "work"
    workspace.mkdir()
    os.symlink(outside, workspace / "shot.png")
    with serve("anthropic") as (server, provider):
        server.queue_tool_call("read_file", {"path": "shot.png"})
        server.queue_text("ok")
        with agent_for(provider, workspace, tools=["read_file"]) as agent:
            result = agent.run("Look at shot.png")

    [part] = result.messages[-2].tool_results_parts
    assert part.is_error and not part.images


def test_cli_run_image_sends_it_and_refuses_a_non_image(tmp_path: Path) -> None:
    (tmp_path / "shot.png").write_bytes(PNG)
    (tmp_path / "notes.txt").write_text("not an image")
    with FakeAnthropicServer() as server:
        env = {
            **NO_PROVIDER_ENV,
            "ANTHROPIC_API_KEY": "sk-ant-t",
            "ANTHROPIC_BASE_URL": server.base_url,
        }
        sent = invoke(
            "run", "-p", "anthropic", "--workspace", str(tmp_path), "--image",
            str(tmp_path / "shot.png"), "What is it?", env=env,
        )  # fmt: skip
        refused = invoke(
            "run", "-p", "anthropic", "--workspace", str(tmp_path), "--image",
            str(tmp_path / "notes.txt"), "What is it?", env=env,
        )  # fmt: skip
        first = server.message_bodies[0]

    assert sent.exit_code == 0, sent.stderr
    assert first["messages"][0]["content"][1]["type"] == "image"
    assert refused.exit_code != 0
    assert "is not a PNG, JPEG, GIF or WebP image" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_chat_image_goes_with_the_next_message(tmp_path: Path) -> None:
    from cli_support import write_script

    (tmp_path / "shot.png").write_bytes(PNG)
    script = write_script(tmp_path, ["A pixel.", "Nothing attached."])
    lines = [
        f"/image {tmp_path / 'missing.png'}",
        f"/image {tmp_path / 'shot.png'}",
        "what is it?",
        "and now?",
        "/exit",
    ]
    result = invoke(
        "chat", "-p", "scripted", "-m", str(script), "--workspace", str(tmp_path), "-s", "pics",
        input="\n".join(lines) + "\n",
    )  # fmt: skip

    assert result.exit_code == 0, result.stderr
    assert "cannot read image" in result.stderr and "image/png attached" in result.stderr
    users = [m for m in Session.load("pics").messages if m.role == "user"]
    assert [len(m.images) for m in users] == [1, 0]
    assert users[0].images[0].data == base64.b64encode(PNG).decode()
