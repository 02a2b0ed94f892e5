"""How hard a model should reason, said once and mapped by each provider onto its API.

``--think`` (or the provider option ``think``) takes an effort (``low``, ``medium``, ``high``)
or a token budget (an integer, at least 1024). Providers map it:

- Anthropic: ``thinking: {"type": "enabled", "budget_tokens": N}`` (an effort picks a budget);
- OpenAI and compatible servers: ``reasoning_effort`` (a budget picks an effort);
- Ollama: ``think: true`` (``"low"``/``"medium"``/``"high"`` for models that take a level).

``True`` means ``medium``; ``False``, ``0``, ``"off"`` or ``None`` mean "not asked for".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from allos_core.errors import ConfigError

__all__ = ["EFFORTS", "Think", "parse_think"]

Effort = Literal["low", "medium", "high"]
EFFORTS: tuple[Effort, ...] = ("low", "medium", "high")
#: the token budget an effort stands for (Anthropic's minimum budget is 1024)
BUDGETS: dict[Effort, int] = {"low": 2048, "medium": 8192, "high": 24576}
MIN_BUDGET = 1024


@dataclass(frozen=True)
class Think:
    """A reasoning request: an effort and the token budget that goes with it."""

    effort: Effort
    budget: int


def parse_think(value: object) -> Think | None:
    """The :class:`Think` for a ``think`` option value, or None when reasoning is not asked for.

    Raises :class:`~allos_core.errors.ConfigError` for anything else.
    """
    if value is None or value is False:
        return None
    if value is True:
        return Think("medium", BUDGETS["medium"])
    text = str(value).strip().lower()
    if text in ("", "0", "off", "none", "false", "no"):
        return None
    if text in ("on", "true", "yes"):
        return Think("medium", BUDGETS["medium"])
    if text in BUDGETS:
        effort: Effort = text  # type: ignore[assignment,unused-ignore]
        return Think(effort, BUDGETS[effort])
    try:
        budget = int(text)
    except ValueError:
        budget = -1
    if budget < MIN_BUDGET:
        raise ConfigError(
            f"think must be low, medium, high or a token budget of at least {MIN_BUDGET}, "
            f"not {value!r}",
            hint="for example --think high or --think 16000",
        )
    effort = "low" if budget < 4096 else "medium" if budget < 16384 else "high"
    return Think(effort, budget)
