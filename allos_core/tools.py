"""The tool contract: :class:`Tool`, the :func:`tool` decorator, :class:`ToolContext`, :class:`ToolResult`.

Two ways to write a tool::

    @tool(read_only=True, permission_subject="path")
    def count_lines(path: str, blank: bool = False) -> str:
        '''Count the lines of a file.

        Args:
            path: File to count, relative to the workspace.
            blank: Count blank lines too.
        '''

    class CountLines(Tool):
        name = "count_lines"
        description = "Count the lines of a file."
        Args = CountLinesArgs          # a pydantic model
        async def run(self, args, context): ...

The name comes from the function, the description from the docstring, and the JSON schema of the
arguments from the type hints (via pydantic), with per-parameter descriptions from the docstring.
Arguments are validated before a tool runs; :meth:`Tool.invoke` turns validation failures and
exceptions into error results, so a tool never crashes the agent loop.

A parameter named ``path`` or ending in ``_path`` that is the permission subject is a *path
subject*: rules match it as a workspace-relative path (see :meth:`ToolContext.path_subjects`), so
``./secret.txt``, ``sub/../secret.txt`` and the absolute path all meet a rule for ``secret.txt``.

Schemas are built lazily, on first use: importing a tool module costs no pydantic work.
"""

from __future__ import annotations

import inspect
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from allos_core.errors import AllosError, ToolArgumentsError
from allos_core.providers import ToolSchema

if TYPE_CHECKING:  # pragma: no cover
    from allos_core.workspace_fs import WorkspaceFS

Permission = Literal["allow", "ask", "deny"]
#: the type of :attr:`ToolContext.deps` (``ToolContext[MyDeps]`` in a tool's signature)
DepsT = TypeVar("DepsT")


def frozen_settings(sections: Mapping[str, Any]) -> Mapping[str, Any]:
    """A read-only deep copy of plugin settings: tables become mappings, lists tuples.

    Plugin sections are the top-level tables of the config files that are not core keys
    (``[sandbox]``, ``[mcp.servers.time]``); a plugin reads its own and checks its values.
    """

    def freeze(value: Any) -> Any:
        if isinstance(value, Mapping):
            return MappingProxyType({str(k): freeze(v) for k, v in value.items()})
        if isinstance(value, (list, tuple)):
            return tuple(freeze(v) for v in value)
        return value

    frozen: Mapping[str, Any] = freeze(sections)
    return frozen


@dataclass
class ToolResult:
    """What a tool returns.

    ``content`` goes back to the model, with ``images`` (:class:`~allos_core.messages.ImagePart`,
    e.g. from :func:`allos_core.images.image_from_bytes`) for a model that can see them.
    ``metadata`` is for people and programs watching the run (the CLI shows ``metadata["diff"]``
    as a coloured diff); it is not sent to the model.
    """

    content: str
    is_error: bool = False
    metadata: dict[str, Any] = field(default_factory=dict)
    images: list[Any] = field(default_factory=list)

    @classmethod
    def error(cls, message: str, **metadata: Any) -> ToolResult:
        return cls(content=message, is_error=True, metadata=metadata)


class PathOutsideWorkspaceError(AllosError):
    """A path resolves outside the workspace root."""


@dataclass
class ToolContext(Generic[DepsT]):
    """What a running tool knows about its surroundings.

    ``workspace`` is the root every tool acts inside. Use :meth:`resolve_path` for every path a
    model gives you: it refuses anything that resolves outside the workspace.

    ``read_denied`` answers whether reading a file is denied (see :meth:`is_read_denied`); the
    agent sets it from the user's permission rules.

    ``deps`` is whatever the embedder passed as ``Agent(deps=...)`` (a database handle, an HTTP
    client): declare the parameter as ``ToolContext[MyDeps]`` and ``context.deps`` is typed.
    """

    workspace: Path = field(default_factory=Path.cwd)
    #: extra values an embedder wants tools to see
    extra: dict[str, Any] = field(default_factory=dict)
    #: a predicate over a workspace-relative path (``/`` separators): True when reading that file
    #: is denied, as for ``read_file(PATH)``; None when nothing is denied
    read_denied: Callable[[str], bool] | None = field(default=None, repr=False, compare=False)
    #: ``(tool_name, subject)`` -> the user's ``allow`` rule for that subject, if one decides it
    #: (see :meth:`allowing_rule`); None when there are no rules
    rule_allows: Callable[[str, str], str | None] | None = field(
        default=None, repr=False, compare=False
    )
    #: the user's plugin settings, read-only: ``settings["sandbox"]["mode"]`` is ``[sandbox]
    #: mode`` of the config files (see :func:`frozen_settings`); empty for a bare context
    settings: Mapping[str, Any] = field(default_factory=lambda: frozen_settings({}))
    #: the embedder's dependencies (``Agent(deps=...)``); None when none were given
    deps: DepsT = None  # type: ignore[assignment]
    #: whether the model can see images (a tool may then return them in ToolResult.images);
    #: None when it is not known. The agent sets it from the provider before the first request.
    vision: bool | None = None

    def __post_init__(self) -> None:
        self.workspace = Path(os.path.realpath(self.workspace))
        if not isinstance(self.settings, MappingProxyType):
            self.settings = frozen_settings(self.settings)

    def resolve_path(self, path: str | os.PathLike[str]) -> Path:
        """The real absolute path of ``path`` (relative to the workspace), checked to be inside it.

        Refused before anything is opened: NUL bytes, ``~``, and any path that resolves (after
        ``..`` and every symlink, file or folder) outside the workspace.
        """
        text = os.fspath(path)
        if "\x00" in text:
            raise PathOutsideWorkspaceError("path contains a NUL byte")
        if text.startswith("~"):
            raise PathOutsideWorkspaceError(
                f"{text}: '~' paths are outside the workspace; use a path relative to {self.workspace}"
            )
        candidate = Path(text)
        if not candidate.is_absolute():
            candidate = self.workspace / candidate
        real_text = os.path.realpath(candidate)
        root = str(self.workspace)
        # a string prefix check on real paths: far cheaper than walking Path.parents
        if real_text != root and not real_text.startswith(root.rstrip(os.sep) + os.sep):
            raise PathOutsideWorkspaceError(
                f"{text}: outside the workspace {self.workspace}; only paths inside it are allowed"
            )
        return Path(real_text)

    @property
    def fs(self) -> WorkspaceFS:
        """The workspace resolver: open, create, rename and list files *beneath* the workspace.

        :meth:`resolve_path` gives the checked real path (for permission subjects and messages);
        the I/O itself goes through this, relative to a descriptor of the workspace, so a folder
        swapped for a symlink after the check cannot redirect it (see
        :mod:`allos_core.workspace_fs`). Pass it ``self.relative(real)``.
        """
        from allos_core.workspace_fs import WorkspaceFS

        cached = self.__dict__.get("_fs")
        if cached is None or cached.root != self.workspace:
            cached = WorkspaceFS(self.workspace, resolved=True)
            self.__dict__["_fs"] = cached
        return cached

    def lexical_relative(self, path: str | os.PathLike[str]) -> str | None:
        """``path`` relative to the workspace *as written*: ``.`` and ``..`` collapsed, symlinks
        not followed (``/`` separators, ``.`` for the root).

        None when the path lies outside the workspace even lexically, or is unusable (NUL bytes,
        ``~``). Unlike :meth:`resolve_path` this never touches the file system: it is the name a
        user sees, which a rule on a symlinked folder (``config/**`` with ``config -> real``)
        must also be matched against.
        """
        try:
            text = os.fspath(path)
        except TypeError:
            return None
        if not isinstance(text, str) or "\x00" in text or text.startswith("~"):
            return None
        root = str(self.workspace)
        joined = os.path.normpath(os.path.join(root, text))
        if joined == root:
            return "."
        prefix = root.rstrip(os.sep) + os.sep
        if not joined.startswith(prefix):
            return None
        return Path(joined[len(prefix) :]).as_posix()

    def path_subject(self, path: str | os.PathLike[str]) -> str:
        """The permission subject for a path argument: the real path relative to the workspace
        (after ``..`` and symlinks), so every spelling of a file meets the same rules.

        When :meth:`resolve_path` refuses the path (outside the workspace, ``~``, NUL), this
        never raises: it returns the lexical workspace-relative form if there is one, else the
        raw text normalised (``.``/``..`` collapsed), so ``deny`` rules still see it; the tool
        itself refuses the path when it runs.
        """
        try:
            return self.relative(self.resolve_path(path))
        except Exception:
            pass
        lexical = self.lexical_relative(path)
        if lexical is not None:
            return lexical
        try:
            text = os.fspath(path)
        except TypeError:
            return str(path)
        if not isinstance(text, str) or text == "":
            return str(text)
        return Path(os.path.normpath(text)).as_posix()

    def path_subjects(self, path: str | os.PathLike[str]) -> list[str]:
        """Every subject a path must be allowed for: :meth:`path_subject` (the real target) and,
        when it differs, :meth:`lexical_relative` (the path as written).

        A ``deny`` rule matching either denies the call, so a rule on a symlinked folder holds;
        an ``allow`` rule must cover both (the path as written and its real target).
        """
        subject = self.path_subject(path)
        lexical = self.lexical_relative(path)
        if lexical is None or lexical == subject:
            return [subject]
        return [subject, lexical]

    def allowing_rule(self, tool_name: str, subject: str) -> str | None:
        """The user's ``allow`` rule that decides this subject (no deny or ask rule matches it).

        For a tool that must refuse something unless the user said so explicitly, beyond the
        permission decision for the call: ``web_fetch`` reaches a private or loopback address
        only when a rule such as ``web_fetch(domain:127.0.0.1)`` names it (the tool can check
        that the rule is not a wildcard).
        """
        predicate = self.rule_allows
        if predicate is None:
            return None
        try:
            rule = predicate(tool_name, subject)
        except Exception:
            return None
        return rule if isinstance(rule, str) else None

    def is_read_denied(self, relative_path: str) -> bool:
        """Whether reading the file at ``relative_path`` (workspace-relative, ``/`` separators)
        is denied.

        Tools that read or reveal file contents in bulk (search, grep, listings) must skip the
        files for which this returns True, so that a user's deny rule for ``read_file(PATTERN)``
        also covers them. False when no predicate is set.
        """
        predicate = self.read_denied
        if predicate is None:
            return False
        if relative_path.startswith("./"):
            relative_path = relative_path[2:]
        return bool(predicate(relative_path))

    def relative(self, path: Path) -> str:
        """``path`` relative to the workspace, with ``/`` separators (``.`` for the root)."""
        try:
            rel = path.relative_to(self.workspace)
        except ValueError:
            return path.as_posix()
        text = rel.as_posix()
        return text or "."


class Tool(ABC):
    """Base class of tools.

    Subclasses set ``name``, ``description`` and ``Args`` (a pydantic model of the arguments), and
    implement :meth:`run`. Override :meth:`permission_subject` so users can write rules such as
    ``my_tool(pattern)``.
    """

    name: str
    description: str = ""
    #: a pydantic model of the arguments, or "module:Model" to import it lazily (function tools
    #: build theirs)
    Args: Any = None
    #: read-only tools may run concurrently and default to ``allow``
    read_only: bool = False
    #: the decision when no plugin or user rule says otherwise
    default_permission: Permission = "ask"

    def args_model(self) -> Any:
        """The pydantic model that validates the arguments.

        ``Args`` may name the model as ``"package.module:Model"``: it is then imported on first
        use, so a plugin's tools can be listed without importing pydantic.
        """
        model = self.Args
        if model is None:
            raise NotImplementedError(f"tool {self.name} defines no Args model")
        if isinstance(model, str):
            import importlib

            module_name, _, attribute = model.partition(":")
            model = getattr(importlib.import_module(module_name), attribute)
            type(self).Args = model
        return model

    def parameters_schema(self) -> dict[str, Any]:
        """The JSON schema of the arguments."""
        cached = self.__dict__.get("_schema_cache")
        if cached is None:
            cached = _clean_schema(self.args_model().model_json_schema())
            self.__dict__["_schema_cache"] = cached
        return cached

    def schema(self) -> ToolSchema:
        return ToolSchema(self.name, self.description, self.parameters_schema())

    def validate(self, arguments: dict[str, Any]) -> Any:
        """Validate ``arguments``; raises :class:`ToolArgumentsError` with a readable message.

        Any failure counts, not only pydantic's ``ValidationError``: a custom validator that
        raises ``KeyError`` or ``TypeError`` on odd input (or an ``Args`` model that cannot be
        loaded) is reported as a ``ToolArgumentsError`` too, never as an uncaught exception.
        """
        from pydantic import ValidationError

        try:
            return self.args_model().model_validate(arguments)
        except ValidationError as exc:
            raise ToolArgumentsError(format_validation_error(self.name, exc)) from None
        except ToolArgumentsError:
            raise
        except Exception as exc:
            raise ToolArgumentsError(
                f"Invalid arguments for {self.name}: {type(exc).__name__}: {exc}"
            ) from None

    #: whether the permission subject is a workspace path (rules then use path globbing); such
    #: tools should return :meth:`ToolContext.path_subject` / :meth:`ToolContext.path_subjects`
    #: of the path argument, never the raw text
    path_subject: bool = False

    def permission_subject(self, args: Any, context: ToolContext[Any]) -> str | None:
        """What permission rules match against (a path, a command), or None."""
        return None

    def permission_subjects(self, args: Any, context: ToolContext[Any]) -> list[str | None]:
        """Every subject a call must be allowed for; by default just :meth:`permission_subject`.

        A shell tool returns each simple command of a compound command line, so an allow rule
        for ``git status*`` cannot allow ``git status; rm -rf ~``.
        """
        return [self.permission_subject(args, context)]

    def permission_aliases(self, args: Any, context: ToolContext[Any]) -> list[str]:
        """Other spellings of the subjects that ``deny`` and ``ask`` rules must also see; an
        allow rule never needs to match them. Empty by default.

        A shell tool returns ``rm -rf x`` for ``/bin/rm -rf x`` or ``r''m -rf x``: a rule
        ``deny shell_exec(rm *)`` catches every spelling, while ``allow shell_exec(git *)`` is
        not stretched to some other program named ``git``.
        """
        return []

    def preview(self, args: Any, context: ToolContext[Any]) -> str | None:
        """What a permission prompt shows before the call runs (edits: the unified diff)."""
        return None

    @abstractmethod
    async def run(self, args: Any, context: ToolContext[Any]) -> ToolResult | str:
        """Do the work. ``args`` is the validated ``Args`` instance."""

    async def invoke(self, arguments: dict[str, Any], context: ToolContext[Any]) -> ToolResult:
        """Validate, run, and turn every failure into an error result (never raises, except
        ``asyncio.CancelledError`` when the run is cancelled)."""
        try:
            args = self.validate(arguments)
        except ToolArgumentsError as exc:
            return ToolResult.error(str(exc))
        except Exception as exc:  # a validate() override that breaks its contract
            return ToolResult.error(
                f"Invalid arguments for {self.name}: {type(exc).__name__}: {exc}"
            )
        return await self.invoke_validated(args, context)

    async def invoke_validated(self, args: Any, context: ToolContext[Any]) -> ToolResult:
        """Run with already validated arguments; exceptions become error results."""
        import asyncio

        try:
            result = await self.run(args, context)
        except asyncio.CancelledError:
            raise
        except AllosError as exc:
            return ToolResult.error(f"{self.name} failed: {exc}")
        except Exception as exc:
            return ToolResult.error(f"{self.name} failed: {type(exc).__name__}: {exc}")
        if isinstance(result, ToolResult):
            return result
        try:
            return ToolResult(content="" if result is None else str(result))
        except Exception as exc:
            return ToolResult.error(
                f"{self.name} failed: its result could not be turned into text "
                f"({type(exc).__name__}: {exc})"
            )

    def __repr__(self) -> str:
        return f"<Tool {self.name}>"


class FunctionTool(Tool):
    """A tool made from a typed Python function by :func:`tool`.

    With ``permission_subject`` naming a parameter, rules match that argument. It is a *path
    subject* when ``path_subject`` is True, or by default (``None``) when the parameter is named
    ``path`` or ends in ``_path``: the subject is then the workspace-relative real path
    (:meth:`ToolContext.path_subject`), plus the path as written when it differs (a symlinked
    folder), and rules match it with path globbing. A callable ``permission_subject`` is used as
    it returns; ``path_subject=True`` then only switches rules to path globbing.
    """

    def __init__(
        self,
        function: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        read_only: bool = False,
        default_permission: Permission | None = None,
        permission_subject: str | Callable[[Any, ToolContext[Any]], str | None] | None = None,
        path_subject: bool | None = None,
    ) -> None:
        self.function = function
        self.name = name or function.__name__
        self._description = description
        self.read_only = read_only
        self.default_permission = default_permission or ("allow" if read_only else "ask")
        self._subject = permission_subject
        if path_subject is None:
            path_subject = isinstance(permission_subject, str) and (
                permission_subject == "path" or permission_subject.endswith("_path")
            )
        self.path_subject = bool(path_subject)
        self._model: Any = None
        self._context_param: str | None = None
        self._params: list[str] = []

    @property
    def description(self) -> str:  # type: ignore[override]
        if self._description is None:
            self._description = _docstring_description(self.function)
        return self._description

    def args_model(self) -> Any:
        if self._model is None:
            self._model = _model_from_signature(self)
        return self._model

    def _subject_value(self, args: Any) -> str | None:
        value = getattr(args, self._subject, None)  # type: ignore[arg-type]
        return None if value is None else str(value)

    def permission_subject(self, args: Any, context: ToolContext[Any]) -> str | None:
        if self._subject is None:
            return None
        if callable(self._subject):
            return self._subject(args, context)
        value = self._subject_value(args)
        if value is None or not self.path_subject:
            return value
        return context.path_subject(value)

    def permission_subjects(self, args: Any, context: ToolContext[Any]) -> list[str | None]:
        if self._subject is None or callable(self._subject) or not self.path_subject:
            return [self.permission_subject(args, context)]
        value = self._subject_value(args)
        if value is None:
            return [None]
        return list(context.path_subjects(value))

    async def run(self, args: Any, context: ToolContext[Any]) -> ToolResult | str:
        kwargs = {name: getattr(args, name) for name in self._params}
        if self._context_param:
            kwargs[self._context_param] = context
        result: ToolResult | str
        if inspect.iscoroutinefunction(self.function):
            result = await self.function(**kwargs)
        else:
            result = await run_in_thread(self.function, **kwargs)
        return result


async def run_in_thread(function: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    """Run blocking ``function`` in a worker thread (``asyncio.to_thread``), for tools' ``run``.

    Blocking file or CPU work belongs off the event loop, so concurrent read-only calls overlap.
    asyncio is imported here, not at module level: loading plugins stays cheap.
    """
    import asyncio

    return await asyncio.to_thread(function, *args, **kwargs)


def tool(
    function: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    description: str | None = None,
    read_only: bool = False,
    default_permission: Permission | None = None,
    permission_subject: str | Callable[[Any, ToolContext[Any]], str | None] | None = None,
    path_subject: bool | None = None,
) -> Any:
    """Make a :class:`Tool` from a typed function (sync or async).

    Use bare (``@tool``) or with options. A parameter annotated :class:`ToolContext` receives the
    context and is not part of the schema. ``permission_subject`` is the name of the parameter
    that rules match against, or a function of (validated args, context).

    ``path_subject`` says whether that parameter is a workspace path. ``None`` (the default)
    means yes when it is named ``path`` or ends in ``_path``. A path subject is resolved to the
    workspace-relative real path before rules see it, so ``./secret.txt``, ``sub/../secret.txt``
    or the absolute path cannot slip past ``deny: show(secret.txt)``; rules then match it with
    path globbing (``**`` crosses folders). Pass ``False`` for a parameter that only looks like a
    path (a URL, say), ``True`` for a path parameter with another name.
    """

    def wrap(fn: Callable[..., Any]) -> FunctionTool:
        return FunctionTool(
            fn,
            name=name,
            description=description,
            read_only=read_only,
            default_permission=default_permission,
            permission_subject=permission_subject,
            path_subject=path_subject,
        )

    return wrap(function) if function is not None else wrap


# -- schema helpers ------------------------------------------------------------------------------


def _parsed_docstring(function: Callable[..., Any]) -> Any:
    import docstring_parser

    return docstring_parser.parse(inspect.getdoc(function) or "")


def _docstring_description(function: Callable[..., Any]) -> str:
    doc = _parsed_docstring(function)
    pieces = [doc.short_description or "", doc.long_description or ""]
    return "\n\n".join(p.strip() for p in pieces if p and p.strip())


def _model_from_signature(tool_: FunctionTool) -> Any:
    from typing import get_type_hints

    from pydantic import ConfigDict, Field, create_model

    function = tool_.function
    hints = get_type_hints(function, include_extras=True)
    docs = {p.arg_name: p.description for p in _parsed_docstring(function).params}
    fields: dict[str, Any] = {}
    params: list[str] = []
    for parameter in inspect.signature(function).parameters.values():
        annotation = hints.get(parameter.name, Any)
        if _is_context_annotation(annotation):
            tool_._context_param = parameter.name
            continue
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            raise TypeError(f"tool {tool_.name}: *args and **kwargs are not supported")
        default = ... if parameter.default is parameter.empty else parameter.default
        fields[parameter.name] = (annotation, Field(default, description=docs.get(parameter.name)))
        params.append(parameter.name)
    tool_._params = params
    model_name = "".join(part.title() for part in tool_.name.split("_")) + "Args"
    return create_model(model_name, __config__=ConfigDict(extra="forbid"), **fields)


def _is_context_annotation(annotation: Any) -> bool:
    """True for ``ToolContext``, ``ToolContext[Deps]`` and either ``| None``."""
    from typing import get_args, get_origin

    def is_context(item: Any) -> bool:
        return item is ToolContext or get_origin(item) is ToolContext

    if is_context(annotation):
        return True
    args = get_args(annotation)
    return (
        bool(args)
        and any(map(is_context, args))
        and all(is_context(a) or a is type(None) for a in args)
    )


def _clean_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Drop pydantic's auto-generated ``title`` keys, which only add noise for the model."""

    def clean(node: Any, in_properties: bool = False) -> Any:
        if isinstance(node, dict):
            return {
                key: clean(value, key in ("properties", "$defs"))
                for key, value in node.items()
                if in_properties or key != "title"
            }
        if isinstance(node, list):
            return [clean(item) for item in node]
        return node

    cleaned: dict[str, Any] = clean(schema)
    return cleaned


def format_validation_error(tool_name: str, exc: Any) -> str:
    """A pydantic ValidationError as a short message a model can act on."""
    lines = [f"Invalid arguments for {tool_name}:"]
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"]) or "(arguments)"
        lines.append(f"- {where}: {error['msg']}")
    return "\n".join(lines)
