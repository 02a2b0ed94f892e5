"""Usage and cost accounting of an agent: every model call's tokens priced and added up, and the
``max_cost`` budget that stops a run."""

from __future__ import annotations

from typing import TYPE_CHECKING

from allos_core import events as ev
from allos_core.messages import ToolCallPart, ToolResultPart, Usage
from allos_core.pricing import budget_stop

if TYPE_CHECKING:  # pragma: no cover
    from allos_core.agent import Agent
    from allos_core.run_state import RunState

__all__ = ["Accounting", "not_run"]


class Accounting:
    """Adds usage to the agent, the run and the session; checks the run's cost budget."""

    def __init__(self, agent: Agent) -> None:
        self.agent = agent

    def record(
        self, state: RunState | None, usage: Usage, *, kind: str, model: str | None = None
    ) -> None:
        """Price ``usage`` and add it to ``agent.usage``, the run's and the session's turns."""
        agent = self.agent
        provider = agent.provider
        usage = agent.pricer.priced(provider, model, usage)
        agent.usage = agent.usage + usage
        if state is not None:
            state.usage = state.usage + usage
        if agent.session is not None:
            agent.session.record_turn(provider.name, model or provider.model, usage, kind=kind)
        agent._emit(state, ev.UsageUpdated(usage, state.usage if state else agent.usage))

    def over_budget(self, state: RunState, input_tokens: int | None) -> bool:
        """Stop the run when ``max_cost`` is spent, or would be by a request of
        ``input_tokens`` (see :func:`allos_core.pricing.budget_stop`)."""
        agent = self.agent
        assert agent.max_cost is not None
        spent = state.usage.cost or 0.0
        stop = budget_stop(agent.pricer, agent.provider, agent.max_cost, spent, input_tokens)
        if stop is None:
            return False
        reason, error, hint = stop
        state.stop("cost_limit" if reason == "cost_limit" else "error", error, hint)
        return True


def not_run(call: ToolCallPart) -> ToolResultPart:
    """The result of a call left unrun because the run stopped at its cost limit."""
    content = "not run: the run stopped at its cost limit"
    return ToolResultPart(call_id=call.id, name=call.name, content=content, is_error=True)
