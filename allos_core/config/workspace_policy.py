"""What a workspace ``allos.toml`` may set, and whether the workspace is trusted.

The workspace file comes with whatever project was cloned, so it has less power than the user
file:

- it may not set secrets or endpoints: provider options named like a key, token, secret,
  password, credential or header, and ``base_url`` / ``host`` style options (and a cloud
  ``project`` / ``location`` / ``vertexai`` backend) are ignored (a
  ``base_url`` there would send the user's ``OPENAI_API_KEY`` to a server of the project's choice);
- its ``allow`` rules apply only when the workspace is trusted: listed (or inside a folder listed)
  in ``trusted_workspaces`` of the user file, or ``trust_workspace=True`` (``--trust-workspace``).
  Its ``ask`` and ``deny`` rules always apply: they only make things safer;
- ``trusted_workspaces`` is read from the user file only;
- unless the workspace is trusted, its ``[prices]`` are ignored (a cheap price would defeat a
  budget) and its ``max_cost`` may only lower the budget, never raise it.
- unless the workspace is trusted, it may not choose who answers or how much they may do:
  ``provider``, ``model`` (top level and ``[providers.NAME] model``) and ``system_prompt`` (a
  replacement of the whole prompt) are ignored, and so are ``max_iterations`` /
  ``max_total_tokens`` above the value already in force (the default or the user file's);
  lowering them is kept. ``append_system_prompt`` is kept (the run header says it is there).

Everything left out becomes an :class:`IgnoredSetting` with the file, the line, the reason and
where to put it instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from allos_core.config.display import mask, show_value
from allos_core.config.ignored import (
    REASON_BUDGET,
    REASON_ENDPOINT,
    REASON_PRICES,
    REASON_SECRET,
    REASON_UNTRUSTED,
    REASON_UNTRUSTED_CHOICE,
    REASON_UNTRUSTED_LIMIT,
    REASON_UNTRUSTED_SECTION,
    REASON_USER_ONLY,
    IgnoredSetting,
)
from allos_core.config.keys import TRUST_KEY
from allos_core.config.lines import find_key_line

if TYPE_CHECKING:  # pragma: no cover
    from allos_core.config.settings import Settings

#: provider options a workspace file may not set: credentials, and headers that could carry one
_CREDENTIAL = re.compile(r"key|token(?!s)|secret|passw|credential|auth|cookie|header", re.I)
#: provider options a workspace file may not set: where requests (and the key) are sent; a
#: cloud project / location / backend (Vertex AI) decides whose account receives them
_ENDPOINT = re.compile(
    r"url|uri|host|endpoint|proxy|server|address|domain|socket|(?:^|_)base(?:$|_)"
    r"|project|location|region|vertex|organization|(?:^|_)org(?:$|_)",
    re.I,
)
#: provider options a workspace file may always set
WORKSPACE_SAFE_OPTIONS = frozenset({"model", "timeout", "max_retries", "temperature", "max_tokens"})
#: the environment variables of the first-party providers: (api key, server)
PROVIDER_ENV: dict[str, tuple[str | None, str | None]] = {
    "openai": ("OPENAI_API_KEY", "OPENAI_BASE_URL"),
    "anthropic": ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"),
    "google": ("GEMINI_API_KEY", "GOOGLE_GEMINI_BASE_URL"),
    "ollama": (None, "OLLAMA_HOST"),
}


def workspace_restriction(option: str) -> str | None:
    """Why a workspace file may not set the provider option ``option``, or None when it may.

    ``"secret"`` for credentials (names with key, token, secret, password, credential, auth,
    cookie or header), ``"endpoint"`` for where requests go (url, host, endpoint, proxy, ...).
    The common options (``model``, ``timeout``, ``max_retries``, ``temperature``,
    ``max_tokens``) are always allowed.
    """
    if option in WORKSPACE_SAFE_OPTIONS:
        return None
    if _CREDENTIAL.search(option):
        return "secret"
    if _ENDPOINT.search(option):
        return "endpoint"
    return None


#: top-level keys an untrusted workspace file may not set at all
UNTRUSTED_CHOICES = ("provider", "model", "system_prompt", "git_commit")
#: limits an untrusted workspace file may lower but not raise
UNTRUSTED_LIMITS = ("max_iterations", "max_total_tokens")


def workspace_trust(settings: Settings, flag: bool) -> tuple[bool, str]:
    """Whether the workspace is trusted, and why (the flag, or a ``trusted_workspaces`` entry).

    An entry trusts that folder and every folder inside it.
    """
    if flag:
        return True, "flag --trust-workspace"
    workspace = settings.workspace
    if workspace is None:
        return False, ""
    for entry in settings.trusted_workspaces:
        folder = Path(entry).expanduser().resolve()
        if workspace == folder or folder in workspace.parents:
            return True, f"{TRUST_KEY} in {settings.source(TRUST_KEY)} ({entry})"
    return False, ""


def restrict_workspace_config(
    data: Mapping[str, Any], file: Path, text: str, settings: Settings
) -> dict[str, Any]:
    """``data`` (a validated workspace file) without what a workspace file may not set.

    Secrets and endpoints in ``[providers.*]``, ``trusted_workspaces``, and the ``allow`` rules
    and plugin sections (``[mcp.servers.*]`` starts programs) unless ``settings.workspace_trusted``. Each value left out is added to ``settings.ignored``.
    ``[plugins]`` choices (which plugin gets a shared name) need trust too; ``strict = true``
    only makes a run safer and always applies.
    """
    result = dict(data)
    ignored = _Ignorer(file, text, settings)
    if "providers" in result:
        result["providers"] = {
            name: ignored.provider_options(name, options or {})
            for name, options in result["providers"].items()
        }
    if not settings.workspace_trusted:
        for key in UNTRUSTED_CHOICES:
            if result.get(key) is not None:
                ignored.choice((key,), result.pop(key))
        for name, options in (result.get("providers") or {}).items():
            if options.get("model") is not None:
                ignored.choice(("providers", name, "model"), options.pop("model"))
        for key in UNTRUSTED_LIMITS:
            value, current = result.get(key), settings.values.get(key)
            if value is not None and current is not None and value > current:
                ignored.raised_limit(key, result.pop(key), current)
    if result.get("sections") and not settings.workspace_trusted:
        ignored.sections(result.pop("sections"))
    if TRUST_KEY in result:
        ignored.trust_list(result.pop(TRUST_KEY) or [])
    plugins = result.get("plugins") or {}
    picks = {k: v for k, v in plugins.items() if k != "strict" and v}
    if picks and not settings.workspace_trusted:  # who provides read_file is the user's call
        for kind, names in picks.items():
            ignored.plugin_choices(kind, names)
        result["plugins"] = {k: v for k, v in plugins.items() if k == "strict"}
    if not settings.workspace_trusted:
        if result.get("prices"):
            ignored.budget(("prices",), ", ".join(result.pop("prices")), REASON_PRICES)
        budget, current = result.get("max_cost"), settings.values.get("max_cost")
        if budget is not None and current is not None and budget > current:
            ignored.budget(("max_cost",), str(result.pop("max_cost")), REASON_BUDGET)
    permissions = result.get("permissions") or {}
    if permissions.get("allow") and not settings.workspace_trusted:
        ignored.allow_rules(permissions["allow"])
        result["permissions"] = {**permissions, "allow": []}
    return result


class _Ignorer:
    """Records the values of one workspace file that are left out, with their line."""

    def __init__(self, file: Path, text: str, settings: Settings) -> None:
        self.file, self.text, self.settings = file, text, settings
        user = settings.user_file
        self.user_note = f"your user config file {user}" if user else "your user config file"

    def _add(self, loc: tuple[str, ...], value: str, reason: str, why: str) -> None:
        line = find_key_line(self.text, loc) if self.text else None
        where = f"{self.file}:{line}" if line else str(self.file)
        key = ".".join(loc)
        label = f"allow rule {value!r}" if loc == ("permissions", "allow") else key
        if reason == REASON_UNTRUSTED_SECTION:
            label = f"table {value}"
        message = f"{where}: ignored {label}: {why}"
        self.settings.ignored.append(IgnoredSetting(key, value, self.file, line, reason, message))

    def provider_options(self, name: str, options: Mapping[str, Any]) -> dict[str, Any]:
        """The options a workspace file may set; the others are recorded."""
        kept: dict[str, Any] = {}
        key_env, url_env = PROVIDER_ENV.get(name, (None, None))
        for option, value in options.items():
            kind = workspace_restriction(option)
            if kind is None:
                kept[option] = value
                continue
            instead = f"put it in {self.user_note}"
            if kind == "secret":
                reason, shown = REASON_SECRET, mask(value)
                if key_env and option == "api_key":
                    instead += f" or set {key_env}"
            else:
                reason, shown = REASON_ENDPOINT, show_value(option, value)
                instead += (f", set {url_env}" if url_env else "") + ", or pass --base-url"
            why = f"{reason} (it comes with the project); {instead}"
            self._add(("providers", name, option), shown, reason, why)
        return kept

    def trust_list(self, entries: list[str]) -> None:
        why = f"{REASON_USER_ONLY} (a project cannot trust itself); put it in {self.user_note}"
        self._add((TRUST_KEY,), ", ".join(entries), REASON_USER_ONLY, why)

    def sections(self, sections: Mapping[str, Any]) -> None:
        why = f"{REASON_UNTRUSTED_SECTION}; {self.settings.how_to_trust()}"
        for name in sections:
            self._add((name,), f"[{name}]", REASON_UNTRUSTED_SECTION, why)

    def budget(self, loc: tuple[str, ...], value: str, reason: str) -> None:
        why = f"{reason}; {self.settings.how_to_trust()}"
        self._add(loc, value, reason, why)

    def plugin_choices(self, kind: str, names: Mapping[str, str]) -> None:
        why = f"{REASON_UNTRUSTED_SECTION}; {self.settings.how_to_trust()}"
        for name in names:
            self._add(
                ("plugins", kind, name), f"[plugins.{kind}] {name}", REASON_UNTRUSTED_SECTION, why
            )

    def choice(self, loc: tuple[str, ...], value: Any) -> None:
        shown = show_value(loc[-1], value)
        if loc == ("system_prompt",):
            shown = f"{len(str(value))} characters"
        why = (
            f"{REASON_UNTRUSTED_CHOICE} (it comes with the project); pass it as a flag or put it "
            f"in {self.user_note}; {self.settings.how_to_trust()}"
        )
        self._add(loc, shown, REASON_UNTRUSTED_CHOICE, why)

    def raised_limit(self, key: str, value: Any, current: Any) -> None:
        why = (
            f"{REASON_UNTRUSTED_LIMIT} above {current}; pass --{key.replace('_', '-')} N or put "
            f"it in {self.user_note}; {self.settings.how_to_trust()}"
        )
        self._add((key,), str(value), REASON_UNTRUSTED_LIMIT, why)

    def allow_rules(self, rules: list[str]) -> None:
        why = f"{REASON_UNTRUSTED}; {self.settings.how_to_trust()}"
        for rule in rules:
            self._add(("permissions", "allow"), rule, REASON_UNTRUSTED, why)
