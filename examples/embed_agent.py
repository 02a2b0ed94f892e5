"""Allos as a library: an agent with your own tool, run offline with a scripted model.

Run it with ``python examples/embed_agent.py``. Swap the ScriptedProvider for a real one with
``Agent("openai", "gpt-4.1-mini", ...)`` (or "anthropic", "ollama") and the rest stays the same.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from allos_core.agent import Agent
from allos_core.permissions import PermissionRules
from allos_core.testing import ScriptedProvider
from allos_core.tools import tool


@tool(read_only=True)
def count_words(text: str) -> str:
    """Count the words in a text.

    Args:
        text: The text to count.
    """
    return str(len(text.split()))


def main() -> None:
    model = ScriptedProvider(
        [
            {"tool_calls": [{"name": "count_words", "arguments": {"text": "one two three"}}]},
            {
                "tool_calls": [
                    {"name": "write_file", "arguments": {"path": "count.txt", "content": "3\n"}}
                ]
            },
            "There are 3 words; I wrote the count to count.txt.",
        ]
    )
    workspace = Path(tempfile.mkdtemp(prefix="allos-example-"))

    def show(event) -> None:
        if event.type == "tool_call":
            print(f"  tool call: {event.call.name}({event.call.arguments})")
        elif event.type == "permission":
            print(f"  decision:  {event.decision.decision} ({event.decision.reason})")

    agent = Agent(
        model,
        tools=[count_words, "write_file"],  # your tool, and one from the allos-fs plugin
        permissions=PermissionRules.from_lists(allow=["write_file(count.txt)"]),
        workspace=workspace,
        on_event=show,
    )
    result = agent.run("How many words are in 'one two three'? Save the count in count.txt.")
    print(result.stop_reason, "-", result.text)
    print("count.txt:", (workspace / "count.txt").read_text().strip())
    print("tokens:", result.usage.input_tokens, "in,", result.usage.output_tokens, "out")


if __name__ == "__main__":
    main()
