"""Structured output in a run: the schema a request carries, and the judging of each answer.

The schema goes natively to a provider that supports it (until its server refuses it), else as
the final-answer tool; an answer that does not validate goes back to the model up to
``output_retries`` times (see :mod:`allos_core.output`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from allos_core.messages import Message

if TYPE_CHECKING:  # pragma: no cover
    from allos_core.agent import Agent
    from allos_core.errors import BadRequestError
    from allos_core.output import StructuredOutput
    from allos_core.providers import OutputSchema, Provider, ToolSchema
    from allos_core.run_state import RunState

__all__ = ["OutputHandling", "about_output", "structured_output"]


class OutputHandling:
    """The structured-output side of one agent's runs (``agent.output``, read at call time)."""

    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        #: a provider whose server refused native structured output (see ModelCalls.request)
        self.refused_by: Provider | None = None

    def request_parts(
        self, schemas: list[ToolSchema]
    ) -> tuple[list[ToolSchema], OutputSchema | None]:
        """The tools and output schema of a request: native, or with the final-answer tool."""
        output = self.agent.output
        if output is None:
            return schemas, None
        if self.native():
            return schemas, output.request(tool=False)
        return [*schemas, output.tool_schema()], output.request(tool=True)

    def native(self) -> bool:
        """Whether the provider gets the schema natively (else: the final-answer tool)."""
        provider = self.agent.provider
        return provider.capabilities.structured_output and self.refused_by is not provider

    def judge(self, state: RunState, message: Message) -> str | None:
        """Check an answer of a structured run: ``stop``, ``again`` (asked to fix it) or None."""
        agent = self.agent
        output = agent.output
        assert output is not None
        verdict = output.judge(message, tool=not self.native())
        if not verdict.handled:
            return None
        state.output_raw = verdict.raw
        if verdict.results:
            agent._append(state, Message.tool_results(verdict.results))
        if verdict.ok:
            state.output = verdict.value
            state.stop("answered")
            return "stop"
        state.output_failures += 1
        if state.output_failures > output.retries:
            state.stop(
                "output_invalid",
                f"the answer did not match the output type after {state.output_failures} "
                f"attempts: {verdict.error}",
                "the last answer is kept as the run's text; simplify the schema, raise output_retries, "
                "or try a stronger model",
            )
            return "stop"
        if verdict.feedback:
            agent._append(state, Message.user(verdict.feedback))
        return "again"


def about_output(exc: BadRequestError) -> bool:
    """Whether a rejected request was rejected for its structured-output parameters."""
    text = str(exc).lower()
    return any(
        word in text for word in ("response_format", "json_schema", "output_config", "format")
    )


def structured_output(output_type: Any, retries: int) -> StructuredOutput | None:
    """The :class:`~allos_core.output.StructuredOutput` of ``output_type`` (None: no type)."""
    if output_type is None:
        return None
    from allos_core.output import StructuredOutput

    return StructuredOutput(output_type, retries=retries)
