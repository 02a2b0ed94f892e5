"""Checking what plugins hand back: decisions, registered items, and read-only views for observers.

Plugins are trusted to run but not to be correct. Everything a plugin answers is checked here
before the core acts on it, and everything an observer (``allos_before_tool_call``,
``allos_after_tool_call``) is shown is a copy that cannot change what the model sees.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from allos_core.messages import ToolCallPart
    from allos_core.permissions import PermissionDecision
    from allos_core.tools import ToolResult

#: hook name -> what ``allos plugins list`` calls it
HOOK_KINDS: dict[str, str] = {
    "allos_providers": "providers",
    "allos_tools": "tools",
    "allos_check_permission": "permission",
    "allos_before_tool_call": "audit",
    "allos_after_tool_call": "audit",
    "allos_cli_commands": "commands",
    "allos_batch_backends": "batch backends",
    "allos_tool_sources": "tool sources",
    "allos_on_event": "events",
    "allos_run_notes": "run notes",
}

#: the hooks whose answers are ignored: observers
OBSERVER_HOOKS = ("allos_before_tool_call", "allos_after_tool_call")


def hook_kinds(hook_names: list[str]) -> list[str]:
    """The kinds of hooks a plugin implements, in a stable order, without repeats."""
    kinds = {HOOK_KINDS.get(name, name) for name in hook_names}
    order = list(dict.fromkeys(HOOK_KINDS.values()))
    return [k for k in order if k in kinds] + sorted(kinds - set(order))


def checked_decision(answer: Any, plugin: str) -> PermissionDecision | None:
    """A plugin's ``allos_check_permission`` answer, or a ``deny`` naming the plugin.

    ``None`` abstains. A :class:`~allos_core.permissions.PermissionDecision` whose ``decision``
    is exactly ``"allow"``, ``"ask"`` or ``"deny"`` counts. Anything else (a string, a dict, a
    decision spelt ``"Deny"``) denies the call: an answer the core cannot read fails closed.
    """
    from allos_core.permissions import DECISIONS, PermissionDecision

    if answer is None:
        return None
    if (
        isinstance(answer, PermissionDecision)
        and answer.decision in DECISIONS
        and isinstance(answer.reason, str)
        and isinstance(answer.source, str)
    ):
        return answer
    shown = repr(answer)
    if len(shown) > 120:
        shown = shown[:117] + "..."
    return PermissionDecision.deny(
        f"permission plugin {plugin} gave an invalid answer ({shown}); denied. "
        "Its hook must return PermissionDecision.allow/ask/deny(...) or None",
        source=plugin,
    )


def item_problem(kind: str, item: Any) -> str | None:
    """Why ``item`` returned by ``allos_tools`` / ``allos_providers`` is not one, or None."""
    if kind == "tool":
        from allos_core.tools import Tool

        if isinstance(item, Tool):
            return None
        what = "a function" if callable(item) else f"a {type(item).__name__}"
        return (
            f"allos_tools returned {what} ({_short(item)}), not a Tool: decorate functions "
            "with @allos_core.tool, or return instances of a Tool subclass"
        )
    if kind == "provider":
        from allos_core.providers import Provider

        if isinstance(item, type) and issubclass(item, Provider):
            if isinstance(getattr(item, "name", None), str) and item.name:
                return None
            return f"provider class {item.__name__} has no name: set name = '...' on the class"
        return (
            f"allos_providers returned {_short(item)}, not a Provider subclass: return the "
            "classes themselves (not instances)"
        )
    if not isinstance(getattr(item, "name", None), str):
        return f"allos_cli_commands returned {_short(item)}, not a click command"
    return None


def _short(item: Any) -> str:
    shown = getattr(item, "__name__", None) or repr(item)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def read_only_call(call: ToolCallPart) -> ToolCallPart:
    """A copy of ``call`` for observers (the part is frozen; its ``arguments`` a ReadOnlyDict)."""
    arguments = _read_only(copy.deepcopy(dict(call.arguments)))
    return call.model_copy(update={"arguments": arguments})


def read_only_result(result: ToolResult) -> ToolResult:
    """A copy of ``result`` that refuses changes, for observers."""
    cls = _result_view_class()
    view: ToolResult = cls.__new__(cls)
    object.__setattr__(view, "content", result.content)
    object.__setattr__(view, "is_error", result.is_error)
    try:
        metadata = copy.deepcopy(result.metadata)
    except Exception:  # something in it cannot be copied: a shallow copy still can't be changed
        metadata = dict(result.metadata)
    object.__setattr__(view, "metadata", _read_only(metadata))
    return view


class ReadOnlyDict(dict[str, Any]):
    """A dict that refuses changes: still a dict for ``json.dumps`` and ``isinstance`` checks."""

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("an observer gets a read-only view: copy it to change it")

    __setitem__ = __delitem__ = update = pop = popitem = clear = setdefault = _refuse
    __ior__ = _refuse


def _read_only(value: Any) -> Any:
    if isinstance(value, dict):
        return ReadOnlyDict({k: _read_only(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_read_only(v) for v in value)
    return value


_RESULT_VIEW: Any = None


def _result_view_class() -> Any:
    global _RESULT_VIEW
    if _RESULT_VIEW is None:
        from allos_core.tools import ToolResult

        class ReadOnlyToolResult(ToolResult):
            """A tool result shown to an observer: changing it raises."""

            def __setattr__(self, name: str, value: Any) -> None:
                raise AttributeError(
                    f"an observer cannot change the tool result ({name}); "
                    "allos_after_tool_call gets a read-only view"
                )

            def __delattr__(self, name: str) -> None:
                raise AttributeError("an observer cannot change the tool result")

        _RESULT_VIEW = ReadOnlyToolResult
    return _RESULT_VIEW
