"""The options ``allos run`` and ``allos chat`` share, and the value object that holds them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import click


@dataclass
class AgentOptions:
    """What the command line says about the agent to build (None: not given)."""

    provider: str | None = None
    model: str | None = None
    base_url: str | None = None
    tools: tuple[str, ...] = ()
    allow: tuple[str, ...] = ()
    ask: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    yes: bool = False
    session: str | None = None
    max_iterations: int | None = None
    max_total_tokens: int | None = None
    max_cost: float | None = None
    workspace: str | None = None
    system: str | None = None
    append_system: str | None = None
    no_stream: bool = False
    git: bool = False
    trust_workspace: bool = False
    json: bool = False
    verbose: bool = False
    sandbox: str | None = None
    think: str | None = None
    no_cache: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_kwargs(cls, kwargs: dict[str, Any]) -> AgentOptions:
        known = set(cls.__dataclass_fields__) - {"extra"}
        options = cls(**{k: v for k, v in kwargs.items() if k in known})
        options.extra = {k: v for k, v in kwargs.items() if k not in known}
        return options

    def flags(self) -> dict[str, Any]:
        """The options as a settings layer for :func:`allos_core.config.load_settings`."""
        flags: dict[str, Any] = {
            "provider": self.provider,
            "model": self.model,
            "max_iterations": self.max_iterations,
            "max_total_tokens": self.max_total_tokens,
            "max_cost": self.max_cost,
            "system_prompt": self.system,
            "append_system_prompt": self.append_system,
            "stream": False if self.no_stream else None,
            "git_commit": True if self.git else None,
            "permissions": {
                "allow": list(self.allow),
                "ask": list(self.ask),
                "deny": list(self.deny),
            },
        }
        if self.sandbox:  # a plugin setting: [sandbox] mode of the shell tool's OS sandbox
            flags["sections"] = {"sandbox": {"mode": self.sandbox}}
        return flags


_POSITIVE = click.IntRange(min=1)


def _check_think(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    from allos_core.errors import ConfigError
    from allos_core.thinking import parse_think

    try:
        parse_think(value)
    except ConfigError as exc:
        raise click.BadParameter(
            f"{exc} (to think at the default level, write --think=medium or put --think after "
            "the task)"
        ) from None
    return value


def agent_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """Add the shared agent options to a click command."""
    decorators = [
        click.option("-p", "--provider", metavar="NAME", help="Model provider (openai, anthropic, google, ollama, ...)."),
        click.option("-m", "--model", metavar="MODEL", help="Model name (default: the provider's); for -p scripted, a script file (docs/cli.md)."),
        click.option("--base-url", metavar="URL", help="Send requests to this server (OpenAI-compatible, Ollama host, ...)."),
        click.option("-t", "--tool", "tools", multiple=True, metavar="NAME", help="Offer only this tool (repeatable; default: every installed tool)."),
        click.option("--allow", multiple=True, metavar="RULE", help="Allow matching calls without asking, e.g. 'shell_exec(pytest*)' (repeatable)."),
        click.option("--ask", multiple=True, metavar="RULE", help="Ask before matching calls (repeatable)."),
        click.option("--deny", multiple=True, metavar="RULE", help="Refuse matching calls; beats every allow (repeatable)."),
        click.option("-y", "--yes", "--auto-approve", "yes", is_flag=True, help="Approve every call that would ask; deny rules still win."),
        click.option("-s", "--session", metavar="NAME|PATH", help="Resume this session if it exists; save it after every turn."),
        click.option("--max-iterations", type=_POSITIVE, metavar="N", help="Stop after N model requests (default 50)."),
        click.option("--max-total-tokens", type=_POSITIVE, metavar="N", help="Stop once the run has used N tokens (input + output)."),
        click.option("--max-cost", type=click.FloatRange(min=0, min_open=True), metavar="USD", help="Stop the run before a request likely to take it over USD dollars (and after one that did)."),
        click.option("--workspace", type=click.Path(exists=True, file_okay=False, resolve_path=True), metavar="DIR", help="Folder the tools work in (default: the current directory)."),
        click.option("--trust-workspace", is_flag=True, help="Use the allow rules of the workspace's allos.toml (ignored unless trusted)."),
        click.option("--system", metavar="TEXT", help="Replace the default system prompt."),
        click.option("--append-system", metavar="TEXT", help="Add to the default system prompt."),
        click.option("--no-stream", is_flag=True, help="Wait for each whole answer instead of streaming it."),
        click.option("--git", is_flag=True, help="Commit the agent's file changes after every turn (in a git repository)."),
        click.option("--think", is_flag=False, flag_value="medium", default=None, callback=_check_think, metavar="[BUDGET|low|medium|high]", help="Let the model reason first: an effort or a token budget (default medium)."),
        click.option("--no-cache", is_flag=True, help="Do not ask the provider to cache the prompt (Anthropic caches by default)."),
        click.option("-v", "--verbose", is_flag=True, help="Show more detail, and tracebacks on errors."),
        click.option("--sandbox", type=click.Choice(["workspace-write", "read-only", "off"]), help="OS sandbox for shell commands (default workspace-write; off: no protection)."),
    ]  # fmt: skip
    for decorator in reversed(decorators):
        function = decorator(function)
    return function
