"""Who owns which name: the first-party plugins' providers and tools, and the hints about them.

A name claimed by two plugins is never decided by load order (see :mod:`allos_core.plugins`).
The names below belong to first-party distributions: a third-party plugin that offers one of
them while its owner is absent (uninstalled or switched off) is a takeover, refused like a
conflict until the user picks it with ``[plugins.tools]`` / ``[plugins.providers]``.

Install hints name only these distributions, and only when they are not installed.
"""

from __future__ import annotations

from typing import Any

#: provider name -> the first-party distribution that offers it
FIRST_PARTY_PROVIDERS: dict[str, str] = {
    "openai": "allos-openai",
    "anthropic": "allos-anthropic",
    "ollama": "allos-ollama",
    "google": "allos-google",
    "scripted": "allos-core",
}

#: tool name -> the first-party distribution that offers it
FIRST_PARTY_TOOLS: dict[str, str] = {
    **dict.fromkeys(
        ("read_file", "write_file", "edit_file", "list_directory", "glob", "grep"), "allos-fs"
    ),
    "shell_exec": "allos-shell",
    "web_fetch": "allos-web",
    "web_search": "allos-web",
}

#: the kinds of names plugins register, and the ``[plugins.KIND]`` table that picks an owner
KINDS = {
    "provider": "providers",
    "tool": "tools",
    "command": "commands",
    "batch_backend": "batch_backends",
}


def first_party_owner(kind: str, name: str) -> str | None:
    """The first-party distribution that owns ``name`` (a ``provider`` or ``tool``), or None."""
    if kind == "provider":
        return FIRST_PARTY_PROVIDERS.get(name)
    if kind == "tool":
        return FIRST_PARTY_TOOLS.get(name)
    return None


def choice_setting(kind: str, name: str, distribution: str) -> str:
    """The config line that picks ``distribution`` for ``name``: ``[plugins.tools] x = "d"``."""
    return f'[plugins.{KINDS.get(kind, kind + "s")}] {name} = "{distribution}"'


def missing_name_hint(kind: str, name: str, infos: list[Any]) -> str:
    """What to do about an unknown provider or tool ``name``, told truthfully.

    A first-party name whose distribution is installed but switched off or broken says so; an
    install hint is given only for a first-party distribution that is not installed (and never
    for allos-core, which is always installed). Other names point at the listing commands.
    """
    listing = f"see `allos {KINDS.get(kind, kind + 's')} list` and `allos plugins list`"
    owner = first_party_owner(kind, name)
    if owner is None:
        return f"{listing}; {kind}s come from plugins"
    mine = [info for info in infos if info.distribution == owner]
    for info in mine:
        if info.status == "disabled":
            return f"{owner} is installed but disabled ({info.error}); {listing}"
        if info.status == "failed":
            return f"{owner} failed to load ({info.error}); run `allos plugins list -v`"
        if info.status == "conflict":
            return f"{info.error}"
    if mine or owner == "allos-core":
        return listing
    return f"install its plugin: pip install {owner}"


def resolve_claims(
    kind: str, name: str, claims: list[tuple[Any, str, Any]], chosen: str | None
) -> tuple[tuple[Any, Any] | None, str | None]:
    """Who gets ``name`` among ``claims`` (``(plugin info, label, item)``, in load order).

    Returns ``((info, item), None)`` for the winner, or ``(None, message)`` when the name stays
    unresolved: two claimants and no choice, a choice that names none of them, or a first-party
    name offered only by another distribution (a takeover; its owner absent or switched off).
    ``chosen`` is the user's pick (a distribution or plugin name), if any.
    """
    table = KINDS[kind]
    if chosen is not None:
        for info, _, item in claims:
            if chosen in (info.distribution, info.name):
                return (info, item), None
        offered = ", ".join(label for _, label, _ in claims)
        return None, (
            f"[plugins.{table}] {name} = {chosen!r} names no plugin that offers {kind} {name!r} "
            f"(offered by {offered})"
        )
    if len(claims) > 1:
        both = " and ".join(label for _, label, _ in claims)
        picks = " or ".join(
            choice_setting(kind, name, info.distribution or info.name) for info, _, _ in claims
        )
        return None, (
            f"{kind} {name!r} is offered by both {both}; pick one with {picks} in your config file"
        )
    info, label, item = claims[0]
    owner = first_party_owner(kind, name)
    if owner and info.distribution and info.distribution != owner:
        return None, (
            f"{kind} {name!r} belongs to {owner} but is offered by {label}; to use it anyway, "
            f"set {choice_setting(kind, name, info.distribution)} in your config file"
        )
    return (info, item), None
