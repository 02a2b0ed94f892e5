"""``allos models``: the models each configured provider offers, with what is known of them."""

from __future__ import annotations

import json
from typing import Any

import click


@click.command("models")
@click.option("-p", "--provider", "provider", metavar="NAME", help="List only this provider's models.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print JSON with stable keys, for scripts.")
@click.option("-v", "--verbose", is_flag=True, help="Show tracebacks on errors.")
def models(provider: str | None, as_json: bool, verbose: bool) -> None:
    """List models: id, context window and capabilities (tools, thinking, vision) where known.

    Asks every configured provider (OpenAI-compatible /models, Anthropic's models API,
    Ollama's /api/tags and /api/show), or only the one given with -p.
    """
    from allos_core.cli.errors import handle_errors

    with handle_errors(verbose):
        listings = _collect(provider)
    if as_json:
        click.echo(json.dumps({"providers": listings}, indent=2))
        return
    _print(listings)


def _collect(only: str | None) -> list[dict[str, Any]]:
    from allos_core.config import load_settings
    from allos_core.plugins import create_plugin_manager

    manager = create_plugin_manager()
    settings = load_settings(".", flags={})
    classes = manager.providers()
    if only:
        manager.get_provider_class(only)  # an unknown name: UnknownProviderError with a hint
        names = [only]
    else:
        names = []
        for name, cls in sorted(classes.items()):
            if name == "scripted":
                continue
            try:
                configured = cls.status(**settings.provider_options(name)).configured
            except Exception:
                configured = False
            if configured:
                names.append(name)
    import asyncio

    return [asyncio.run(_describe(manager, settings, name)) for name in names]


async def _describe(manager: Any, settings: Any, name: str) -> dict[str, Any]:
    from allos_core.errors import AllosError

    listing: dict[str, Any] = {"provider": name, "models": [], "error": None}
    try:
        cls = manager.get_provider_class(name)
        provider = cls(model=settings.model_for(name), **settings.provider_options(name))
    except AllosError as exc:
        listing["error"] = str(exc)
        return listing
    try:
        listing["models"] = [info.to_dict() for info in await provider.describe_models()]
    except AllosError as exc:
        listing["error"] = str(exc)
    finally:
        await provider.aclose()
    return listing


def _print(listings: list[dict[str, Any]]) -> None:
    from allos_core.cli.ui import out_console, print_warning
    from allos_core.terminal import safe_markup as escape  # ids come from a server: neutralise

    console = out_console()
    if not listings:
        print_warning("notice", "no provider is configured; see `allos providers list`")
    for listing in listings:
        console.print(f"[bold]{escape(listing['provider'])}[/]")
        if listing["error"]:
            console.print(f"  [red]{escape(listing['error'])}[/]")
            continue
        if not listing["models"]:
            console.print("  [dim](no models listed)[/]")
        width = max((len(escape(m["id"])) for m in listing["models"]), default=0)
        for model in listing["models"]:
            window = model["context_window"]
            context = f"{window:,} tokens" if window else "context ?"
            flags = [k for k, v in model["capabilities"].items() if v]
            unknown = all(v is None for v in model["capabilities"].values())
            what = "capabilities ?" if unknown else ", ".join(flags) or "text only"
            console.print(f"  {escape(model['id']):<{width}}  {context:>16}  [dim]{what}[/]")
