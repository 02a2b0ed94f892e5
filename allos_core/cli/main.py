"""Entry point of the ``allos`` command.

Startup matters: this module imports only click. Each command imports what it needs when it runs,
and commands live in small modules of their own, loaded on first use.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

# command name -> "module:attribute", imported when the command is used (or listed by --help)
LAZY_COMMANDS = {
    "run": "allos_core.cli.run:run",
    "batch": "allos_core.cli.batch_cmd:batch",
    "chat": "allos_core.cli.chat:chat",
    "demo": "allos_core.cli.demo:demo",
    "sessions": "allos_core.cli.sessions_cmd:sessions",
    "config": "allos_core.cli.config_cmd:config",
    "plugins": "allos_core.cli.inventory:plugins",
    "providers": "allos_core.cli.inventory:providers",
    "tools": "allos_core.cli.inventory:tools",
    "undo": "allos_core.cli.undo_cmd:undo",
    "keys": "allos_core.cli.keys_cmd:keys",
    "models": "allos_core.cli.models_cmd:models",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported only when they are needed."""

    def __init__(self, *args: Any, lazy_commands: dict[str, str] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands or {})

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        from allos_core.cli.aliases import expand_aliases

        commands = [*super().list_commands(ctx), *self.lazy_commands]
        return super().parse_args(ctx, expand_aliases(args, commands))

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_commands:
            module_name, attribute = self.lazy_commands[cmd_name].split(":")
            return getattr(importlib.import_module(module_name), attribute)
        command = super().get_command(ctx, cmd_name)
        if command is None:
            command = plugin_command(cmd_name)
        return command


def plugin_command(name: str) -> click.Command | None:
    """A command added by a plugin's ``allos_cli_commands`` hook, or None.

    Plugins are discovered only when a name is not a built-in command, so ``allos --help`` stays
    fast; ``allos plugins list`` shows which plugin adds which command.
    """
    from allos_core.plugins import create_plugin_manager

    return create_plugin_manager().commands().get(name)


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from allos_core.cli.inventory import version_lines

    for line in version_lines():
        click.echo(line)
    ctx.exit(0)


@click.group(
    cls=LazyGroup,
    lazy_commands=LAZY_COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Show the versions of allos-core and every installed plugin.",
)
def cli() -> None:
    """Allos: a coding agent that works with any model.

    Run a task with `allos run "TASK"`, chat with `allos chat`; see what is installed with
    `allos plugins list` (which also lists commands that plugins add).

    Short forms: `allos "TASK"` is `allos run "TASK"`, `allos -i` (--interactive) is
    `allos chat`, and `--auto-approve` is `--yes`.
    """


def main(argv: list[str] | None = None) -> Any:
    """Console-script entry point."""
    return cli.main(args=argv, prog_name="allos")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
