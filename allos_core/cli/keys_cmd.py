"""``allos keys set|list|rm``: provider keys kept in the user config folder's ``.env``."""

from __future__ import annotations

import json
import sys

import click

from allos_core.cli.errors import handle_errors


@click.group("keys")
def keys() -> None:
    """Store provider keys in your user config folder (mode 0600), and see which are set.

    A stored key is used when the environment sets none: the environment always wins.
    Keys are never printed.
    """


@keys.command("set")
@click.argument("provider", type=click.Choice(["openai", "anthropic", "google"]))
def keys_set(provider: str) -> None:
    """Store PROVIDER's key (asked for without echo; or piped on stdin)."""
    from allos_core.cli.ui import err_console
    from allos_core.keys import key_variable, set_key

    with handle_errors():
        variable = key_variable(provider)
        if sys.stdin.isatty():
            key = click.prompt(f"{variable}", hide_input=True, err=True)
        else:
            key = sys.stdin.readline()
        path = set_key(provider, key)
    err_console().print(
        f"stored {variable} in {path} (mode 0600); the environment still wins",
        markup=False,
        highlight=False,
    )


@keys.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def keys_list(as_json: bool) -> None:
    """Which provider keys are set, and where from (env, file or config); never the keys."""
    from allos_core.keys import key_statuses

    with handle_errors():
        statuses = key_statuses(configured=_configured())
    if as_json:
        rows = [
            {"provider": s.provider, "variable": s.variable, "source": s.source} for s in statuses
        ]
        click.echo(json.dumps(rows, indent=2))
        return
    for status in statuses:
        where = status.source or "not set"
        click.echo(f"{status.provider:<10} {status.variable:<18} {where}")


@keys.command("rm")
@click.argument("provider", type=click.Choice(["openai", "anthropic", "google"]))
def keys_rm(provider: str) -> None:
    """Remove PROVIDER's stored key."""
    from allos_core.cli.ui import err_console
    from allos_core.keys import remove_key, user_env_file

    with handle_errors():
        removed = remove_key(provider)
    message = f"removed {provider}'s key from {user_env_file()}" if removed else "no key was stored"
    err_console().print(message, markup=False, highlight=False)


def _configured() -> dict[str, dict[str, object]]:
    """api_key options set in the user's config file (a broken file counts as none)."""
    try:
        from allos_core.config import read_config_file, user_config_path

        path = user_config_path()
        data = read_config_file(path) if path.is_file() else {}
    except Exception:
        return {}
    return dict(data.get("providers") or {})
