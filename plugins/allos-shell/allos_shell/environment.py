"""The environment a command runs with: the user's, minus keys and secret-looking variables.

A command the model chose must not read the provider's API key (``echo $ANTHROPIC_API_KEY``
would put it into the conversation, the provider's logs and the saved session). So commands get
Allos's environment without:

- the provider keys Allos knows of (:data:`PROVIDER_KEYS`), and
- every variable whose name looks secret (:data:`SECRET_PATTERNS`, case-insensitive globs).

Settings, in the plugin section ``[shell.environment]`` (like Codex's shell environment policy):

- ``exclude = ["MY_VAR", "CORP_*"]``: withhold these too;
- ``include = ["NPM_TOKEN"]``: pass these although they look secret (provider keys included, if
  you really mean it);
- ``set = { NAME = "value" }``: set these for every command.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: API keys of the providers Allos ships or knows of
PROVIDER_KEYS = frozenset(
    {
        "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY",
        "OLLAMA_API_KEY", "AZURE_OPENAI_API_KEY", "MISTRAL_API_KEY", "GROQ_API_KEY",
        "OPENROUTER_API_KEY", "DEEPSEEK_API_KEY", "XAI_API_KEY", "TOGETHER_API_KEY",
        "COHERE_API_KEY", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "TAVILY_API_KEY",
        "BRAVE_API_KEY", "GOOGLE_APPLICATION_CREDENTIALS", "ANTHROPIC_AUTH_TOKEN",
    }
)  # fmt: skip
#: names that look secret (matched case-insensitively)
SECRET_PATTERNS = (
    "*_KEY", "*_KEYS", "*_API_KEY*", "*APIKEY*", "*_TOKEN", "*_TOKENS", "*_SECRET", "*_SECRETS",
    "*SECRET_*", "*PASSWORD*", "*PASSWD*", "*CREDENTIAL*", "*_PAT", "*PRIVATE_KEY*",
    "*ACCESS_KEY*", "*SESSION_TOKEN*", "*_AUTH_TOKEN*", "*_COOKIE*",
)  # fmt: skip


class EnvironmentSettingsError(ValueError):
    """A ``[shell.environment]`` value is not one the plugin understands."""


@dataclass(frozen=True)
class CommandEnvironment:
    """The environment for commands, and the names withheld from it."""

    environ: dict[str, str]
    withheld: tuple[str, ...]


def command_environment(
    settings: Mapping[str, Any] | None, environ: Mapping[str, str]
) -> CommandEnvironment:
    """``environ`` without keys and secret-looking names, per ``settings["shell"]["environment"]``."""
    policy = _policy(settings)
    include = [p.upper() for p in policy.get("include", ())]
    exclude = [p.upper() for p in policy.get("exclude", ())]
    known = PROVIDER_KEYS
    kept: dict[str, str] = {}
    withheld: list[str] = []
    for name, value in environ.items():
        upper = name.upper()
        secret = upper in known or any(fnmatch.fnmatchcase(upper, p) for p in SECRET_PATTERNS)
        if any(fnmatch.fnmatchcase(upper, p) for p in exclude):
            secret = True
        elif secret and any(fnmatch.fnmatchcase(upper, p) for p in include):
            secret = False
        if secret:
            withheld.append(name)
        else:
            kept[name] = value
    for name, value in (policy.get("set") or {}).items():
        kept[str(name)] = str(value)
    return CommandEnvironment(kept, tuple(sorted(withheld)))


def _policy(settings: Mapping[str, Any] | None) -> Mapping[str, Any]:
    shell = (settings or {}).get("shell") or {}
    policy = shell.get("environment") if isinstance(shell, Mapping) else None
    if policy is None:
        return {}
    if not isinstance(policy, Mapping):
        raise EnvironmentSettingsError("[shell.environment] must be a table")
    for key in ("include", "exclude"):
        value = policy.get(key, ())
        if isinstance(value, str) or not all(isinstance(v, str) for v in value):
            raise EnvironmentSettingsError(f"[shell.environment] {key} must be a list of names")
    if not isinstance(policy.get("set", {}), Mapping):
        raise EnvironmentSettingsError("[shell.environment] set must be a table of NAME = value")
    return policy
