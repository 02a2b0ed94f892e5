"""Extended thinking on the Messages API: the ``thinking`` parameter and its rules.

- ``think`` (the neutral provider option: an effort or a token budget) becomes
  ``thinking: {"type": "enabled", "budget_tokens": N}``; ``max_tokens`` must exceed the budget,
  so it is raised to leave room for the answer when it does not.
- With thinking on, the API accepts no ``temperature`` other than 1: a configured temperature
  is left out.
- In a tool loop with thinking on, the last assistant turn must start with its signed thinking
  block. A turn written by another provider (or by Claude without thinking) has none, so the
  request goes without thinking until the loop is over; the API would refuse it otherwise.
"""

from __future__ import annotations

from typing import Any

from allos_anthropic.mapping import starts_with_thinking
from allos_core.thinking import parse_think

#: tokens left for the answer on top of the thinking budget when max_tokens is raised
ANSWER_ROOM = 4096


def apply_thinking(params: dict[str, Any], think: Any) -> None:
    """Add (or drop) ``thinking`` in the request ``params`` as the rules above say."""
    if "thinking" not in params:
        setting = parse_think(think)
        if setting is not None:
            params["thinking"] = {"type": "enabled", "budget_tokens": setting.budget}
    thinking = params.get("thinking")
    if not isinstance(thinking, dict) or thinking.get("type") != "enabled":
        return
    if _in_tool_loop_without_thinking(params["messages"]):
        import logging  # on use: this module is imported when plugins are listed

        logging.getLogger("allos.anthropic").debug(
            "the last assistant turn has no thinking block: thinking off this request"
        )
        del params["thinking"]
        return
    budget = int(thinking.get("budget_tokens") or 0)
    if params["max_tokens"] <= budget:
        params["max_tokens"] = budget + ANSWER_ROOM
    params.pop("temperature", None)


def _in_tool_loop_without_thinking(turns: list[dict[str, Any]]) -> bool:
    if len(turns) < 2 or turns[-1]["role"] != "user":
        return False
    last = turns[-1]["content"]
    if not any(block.get("type") == "tool_result" for block in last):
        return False
    assistant = turns[-2]
    return assistant["role"] == "assistant" and not starts_with_thinking(assistant)
