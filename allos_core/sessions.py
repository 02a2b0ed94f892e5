"""Session files: a conversation saved so it can be resumed, on the same or another provider.

A session is stored by **name** under :func:`sessions_dir` (``NAME.json``; names are
``[A-Za-z0-9._-]+``) or at a **path** (anything with a ``/`` or ending in ``.json``). The file is
versioned JSON::

    {"format": "allos-session", "version": 1, "name": ..., "created_at": ..., "updated_at": ...,
     "messages": [...], "turns": [{"provider", "model", "usage", "at", "kind"}],
     "usage": {...}, "metadata": {...}}

Saving is atomic: the new version is written to a temporary file in the same folder, flushed to
disk, and renamed over the old one, so a crash or a kill at any moment leaves either the old or
the new version, never a mix. Loading a corrupt file or one written by a newer Allos raises
:class:`~allos_core.errors.SessionError` and never touches the file. Saving never overwrites a
file the :class:`Session` did not load or write itself (use :meth:`Session.open` to resume one),
nor a corrupt file or one written by a newer Allos. Deleting refuses a file that is not an Allos
session unless forced. A session records only the provider's name and model for each turn —
never options, keys or headers.

A session file may be crafted (it can come from anywhere): one larger than
:data:`MAX_SESSION_BYTES`, not a regular file, nested absurdly deep or with values of the wrong
types gets the corrupt-file message, and :func:`list_sessions` lists it as unreadable without
failing for the others.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import stat
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from allos_core.errors import SessionError
from allos_core.files import atomic_write

if TYPE_CHECKING:  # pragma: no cover
    from allos_core.messages import Message, Usage

FORMAT = "allos-session"
#: the newest format version this Allos reads and the one it writes
VERSION = 1
ENV_SESSIONS_DIR = "ALLOS_SESSIONS_DIR"
_NAME = re.compile(r"^[A-Za-z0-9._-]+$")
#: a session file larger than this is not read (a long conversation is a few MB)
MAX_SESSION_BYTES = 64 * 1024 * 1024
_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_O_BINARY = getattr(os, "O_BINARY", 0)

_adapter: Any = None


def _dump(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _dump_turn(turn: dict[str, Any]) -> bytes:
    return _dump(turn)


def _dump_message(message: Message) -> bytes:
    return message.__pydantic_serializer__.to_json(message)  # type: ignore[no-any-return,unused-ignore]


def _messages_adapter() -> Any:
    global _adapter
    if _adapter is None:
        from pydantic import TypeAdapter

        from allos_core.messages import Message

        _adapter = TypeAdapter(list[Message])
    return _adapter


def sessions_dir() -> Path:
    """Where named sessions live: ``$ALLOS_SESSIONS_DIR``, else the user data folder."""
    override = os.environ.get(ENV_SESSIONS_DIR)
    if override:
        return Path(override).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("allos", appauthor=False)) / "sessions"


def is_session_name(text: str) -> bool:
    """Whether ``text`` is a session name (rather than a path)."""
    return bool(_NAME.match(text)) and not text.endswith(".json") and set(text) != {"."}


def session_path(name_or_path: str | os.PathLike[str]) -> tuple[str, Path]:
    """``(name, path)`` of a session given by name or path."""
    if isinstance(name_or_path, os.PathLike):
        path = Path(name_or_path).expanduser()
        return _name_from_path(path), path
    text = str(name_or_path)
    if "/" in text or os.sep in text or text.endswith(".json"):
        path = Path(text).expanduser()
        return _name_from_path(path), path
    if not is_session_name(text):
        raise SessionError(
            f"invalid session name {text!r}",
            hint="use letters, digits, '.', '_' and '-', or give a path ending in .json",
        )
    return text, sessions_dir() / f"{text}.json"


def _name_from_path(path: Path) -> str:
    return path.name[:-5] if path.name.endswith(".json") else path.name


def find_session(name_or_path: str | os.PathLike[str]) -> tuple[str, Path]:
    """``(name, path)`` of an existing session, for commands that act on one (show, rm).

    Like :func:`session_path`, except that a bare ``NAME.json`` (no folder) means the session in
    :func:`sessions_dir` when that file exists there, and only otherwise the file in the current
    folder. The path returned may not exist.
    """
    if isinstance(name_or_path, str) and "/" not in name_or_path and os.sep not in name_or_path:
        stem = name_or_path[:-5] if name_or_path.endswith(".json") else None
        if stem and is_session_name(stem):
            stored = sessions_dir() / name_or_path
            if stored.exists():
                return stem, stored
    return session_path(name_or_path)


def _file_id(info: os.stat_result) -> tuple[int, int, int, int]:
    return (info.st_dev, info.st_ino, info.st_mtime_ns, info.st_size)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


class Session:
    """A saved conversation: messages, per-turn provider/model/usage, timestamps, metadata.

    Build one with :meth:`open` (resume if the file exists, else start a new one bound to that
    name or path) or :meth:`load` (the file must exist). ``Session()`` without a name or path is
    kept in memory only.
    """

    def __init__(
        self,
        name: str | None = None,
        path: str | os.PathLike[str] | None = None,
        messages: list[Message] | None = None,
        *,
        turns: list[dict[str, Any]] | None = None,
        usage: Usage | None = None,
        metadata: dict[str, Any] | None = None,
        created_at: datetime | None = None,
        updated_at: datetime | None = None,
    ) -> None:
        from allos_core.messages import Usage

        if path is None and name is not None:
            name, resolved = session_path(name)
        elif path is not None:
            resolved = Path(path).expanduser()
            name = name or _name_from_path(resolved)
        else:
            resolved = None
        self.name: str | None = name
        self.path: Path | None = resolved
        self.messages: list[Message] = messages if messages is not None else []
        self.turns: list[dict[str, Any]] = turns if turns is not None else []
        self.usage: Usage = usage if usage is not None else Usage()
        self.metadata: dict[str, Any] = metadata if metadata is not None else {}
        self.created_at: datetime = created_at or _now()
        self.updated_at: datetime = updated_at or self.created_at
        # the version of the file at ``path`` this object last read or wrote (device, inode,
        # mtime, size); None until it has loaded or saved it. save() overwrites it only then.
        self._disk: tuple[int, int, int, int] | None = None
        # each message's JSON by identity: a session is saved after every turn, and re-encoding
        # the whole conversation each time would make a long run quadratic. Messages are treated
        # as immutable once in a conversation (as the providers' wire caches do).
        self._json_cache: dict[int, tuple[Any, bytes]] = {}

    def __repr__(self) -> str:
        return (
            f"Session(name={self.name!r}, path={str(self.path)!r}, messages={len(self.messages)})"
        )

    # -- opening -------------------------------------------------------------------------------
    @classmethod
    def open(cls, name_or_path: str | os.PathLike[str]) -> Session:
        """The session at ``name_or_path``: loaded if its file exists, else a new empty one."""
        name, path = session_path(name_or_path)
        if path.exists():
            return cls.load(path)
        return cls(name=name, path=path)

    @classmethod
    def load(cls, name_or_path: str | os.PathLike[str]) -> Session:
        """Read a session file; :class:`SessionError` if it is missing, corrupt or too new.

        The file is never modified here, whatever is wrong with it.
        """
        name, path = session_path(name_or_path)
        try:
            raw, info = _read_session_file(path)
        except FileNotFoundError:
            shown = f"session {name!r}" if is_session_name(str(name_or_path)) else "session file"
            raise SessionError(
                f"no {shown} at {path}",
                hint="see `allos sessions list`, or start it with --session NAME",
            ) from None
        except _Unusable as exc:
            raise SessionError(
                f"session file {path} is corrupt ({exc}); the file was left untouched",
                hint=f"move it away or delete it to start over: rm {path}",
            ) from None
        except OSError as exc:
            raise SessionError(f"cannot read session file {path}: {exc.strerror or exc}") from None
        session = cls._from_bytes(raw, path, name)
        session._disk = _file_id(info)
        return session

    @classmethod
    def _from_bytes(cls, raw: bytes, path: Path, name: str) -> Session:
        untouched = "the file was left untouched"
        hint = f"move it away or delete it to start over: rm {path}"
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise SessionError(
                f"session file {path} is not valid JSON ({exc}); {untouched}", hint=hint
            ) from None
        except RecursionError:
            raise SessionError(
                f"session file {path} is corrupt (nested too deeply); {untouched}", hint=hint
            ) from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise SessionError(f"{path} is not an Allos session file; {untouched}", hint=hint)
        version = data.get("version")
        if not isinstance(version, int) or version < 1:
            raise SessionError(
                f"session file {path} has an invalid version {version!r}; {untouched}", hint=hint
            )
        if version > VERSION:
            raise SessionError(
                f"session file {path} was written by a newer Allos (format version {version}; "
                f"this one reads up to {VERSION}); {untouched}",
                hint="upgrade Allos: pip install -U allos-core",
            )
        from pydantic import ValidationError

        from allos_core.messages import Usage

        try:
            messages = _messages_adapter().validate_python(data.get("messages") or [])
            usage = Usage.model_validate(data.get("usage") or {})
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise SessionError(
                f"session file {path} is corrupt (messages.{where}: {first['msg']}); {untouched}",
                hint=hint,
            ) from None
        except (RecursionError, TypeError, AttributeError) as exc:
            raise SessionError(
                f"session file {path} is corrupt ({type(exc).__name__}); {untouched}", hint=hint
            ) from None
        turns = data.get("turns") or []
        metadata = data.get("metadata") or {}
        return cls(
            name=data.get("name") or name,
            path=path,
            messages=messages,
            turns=turns if isinstance(turns, list) else [],
            usage=usage,
            metadata=metadata if isinstance(metadata, dict) else {},
            created_at=_parse_time(data.get("created_at")),
            updated_at=_parse_time(data.get("updated_at")),
        )

    # -- changing ------------------------------------------------------------------------------
    def record_turn(
        self, provider: str, model: str | None, usage: Usage | None, *, kind: str = "model"
    ) -> None:
        """Note one model response: which provider and model answered, and what it cost."""
        from allos_core.messages import Usage

        usage = usage or Usage()
        self.turns.append(
            {
                "provider": provider,
                "model": model,
                "usage": usage.model_dump(),
                "at": _now().isoformat(),
                "kind": kind,
            }
        )
        self.usage = self.usage + usage

    @property
    def title(self) -> str:
        """The first line of the first user message (what ``sessions list`` shows)."""
        for message in self.messages:
            if message.role == "user":
                return _title(message.text)
        return ""

    @property
    def provider(self) -> str | None:
        """The provider of the latest turn."""
        return self.turns[-1].get("provider") if self.turns else None

    @property
    def model(self) -> str | None:
        """The model of the latest turn."""
        return self.turns[-1].get("model") if self.turns else None

    # -- saving --------------------------------------------------------------------------------
    def to_json_bytes(self) -> bytes:
        """The session file's content."""
        head = {
            "format": FORMAT,
            "version": VERSION,
            "name": self.name,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }
        tail = {"usage": self.usage.model_dump(), "metadata": self.metadata}
        turns = b"[" + b",".join(self._cached_json(self.turns, _dump_turn)) + b"]"
        messages = b"[" + b",".join(self._cached_json(self.messages, _dump_message)) + b"]"
        return b"".join(
            (
                _dump(head)[:-1],
                b',"turns":',
                turns,
                b",",
                _dump(tail)[1:-1],
                b',"messages":',
                messages,
                b"}",
            )
        )

    def _cached_json(self, items: list[Any], dump: Any) -> list[bytes]:
        """The JSON of each item, reusing what the last save encoded for the same objects."""
        cache = self._json_cache
        encoded = []
        for item in items:
            entry = cache.get(id(item))
            if entry is None or entry[0] is not item:
                entry = cache[id(item)] = (item, dump(item))
            encoded.append(entry[1])
        if len(cache) > 2 * (len(self.messages) + len(self.turns)) + 64:
            live = {id(item) for item in self.messages} | {id(item) for item in self.turns}
            self._json_cache = {key: cache[key] for key in live if key in cache}
        return encoded

    def save(self) -> Path:
        """Write the session atomically; returns its path.

        :class:`SessionError`, with the file left untouched, if the content cannot be written as
        JSON (e.g. a :class:`~pathlib.Path` in :attr:`metadata`), or if a file is already at
        :attr:`path` that this object neither loaded nor saved (a session started with
        ``Session(name)`` over an existing one: resume it with :meth:`open` instead), or that is
        corrupt or written by a newer Allos. A file this object loaded or saved is overwritten,
        even if another process saved it since (the last save wins).
        """
        path = self.path
        if path is None:
            raise SessionError(
                "this session has no file to save to",
                hint="create it with Session.open(NAME_OR_PATH)",
            )
        previous = self.updated_at
        data = self.snapshot()
        try:
            return self.write(data)
        except SessionError:
            self.updated_at = previous
            raise

    def snapshot(self) -> bytes:
        """The file content :meth:`save` would write now (``updated_at`` set to now).

        With :meth:`write`, lets a caller encode on its own thread and write on another.
        """
        previous, self.updated_at = self.updated_at, _now()
        try:
            return self.to_json_bytes()
        except (TypeError, ValueError) as exc:
            self.updated_at = previous
            raise SessionError(
                f"cannot save session {self.path}: its content is not JSON ({exc}); "
                "the file was left untouched",
                hint="session metadata must be JSON: strings, numbers, lists, dicts "
                "(convert paths and other objects with str())",
            ) from None

    def write(self, data: bytes) -> Path:
        """Write a :meth:`snapshot` atomically, with the checks of :meth:`save`."""
        path = self.path
        if path is None:
            raise SessionError(
                "this session has no file to save to",
                hint="create it with Session.open(NAME_OR_PATH)",
            )
        try:
            self._check_overwrite(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(path, data, create_mode=0o600)  # sessions are private
            self._disk = _file_id(path.stat())
        except OSError as exc:
            raise SessionError(
                f"cannot save session {path}: {exc.strerror or exc}",
                hint="check that the folder exists and is writable, and the disk is not full",
            ) from None
        return path

    def _check_overwrite(self, path: Path) -> None:
        """Raise :class:`SessionError` unless saving may replace whatever is at ``path``."""
        try:
            info = path.stat()
        except FileNotFoundError:
            return  # a new file (or ours, deleted since): nothing to lose
        if self._disk is not None and _file_id(info) == self._disk:
            return  # exactly the version this object loaded or wrote last
        name = self.name or _name_from_path(path)
        untouched = "the file was left untouched"
        if not path.is_file():
            raise SessionError(
                f"cannot save session {name!r}: {path} is not a regular file; {untouched}",
                hint="save the session under another name or path",
            )
        try:
            raw = _read_session_file(path)[0]
        except FileNotFoundError:
            return
        except _Unusable as exc:
            raise SessionError(
                f"cannot save session {name!r}: {path} is not a usable session file ({exc})",
                hint=f"move it away or delete it: rm {path}",
            ) from None
        try:
            Session._from_bytes(raw, path, name)
        except SessionError as exc:
            raise SessionError(f"cannot save session {name!r}: {exc}", hint=exc.hint) from None
        if self._disk is None:
            resume = f"Session.open({name!r})" if self.name else f"Session.open({str(path)!r})"
            raise SessionError(
                f"cannot save session {name!r}: a session file already exists at {path} and this "
                f"Session did not load it, so saving would overwrite it; {untouched}",
                hint=f"to continue that session, resume it with {resume}; "
                "to start a new one, pick another name or path",
            )

    def delete(self, *, force: bool = False) -> Path:
        """Remove the session's file (see :func:`delete_session` for ``force``)."""
        if self.path is None:
            raise SessionError("this session has no file")
        path = delete_session(self.path, force=force)
        self._disk = None
        return path

    def to_text(self, result_chars: int = 2_000) -> str:
        """A readable transcript (for ``allos sessions show``)."""
        from allos_core.context import render_transcript

        return render_transcript(self.messages, result_chars)


@dataclass
class SessionSummary:
    """One line of ``allos sessions list``. ``error`` is set for a file that cannot be read."""

    name: str
    path: Path
    updated_at: datetime | None
    messages: int
    provider: str | None
    model: str | None
    title: str
    error: str | None = None


def _title(text: str, width: int = 80) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= width else line[: width - 1] + "…"


class _Unusable(ValueError):
    """A session file that is not read at all (too large, not a regular file)."""


def _read_session_file(path: Path) -> tuple[bytes, os.stat_result]:
    """The bytes of a session file, refusing (:class:`_Unusable`) a file over
    :data:`MAX_SESSION_BYTES` or one that is not a regular file (a FIFO would block)."""
    fd = os.open(path, os.O_RDONLY | _O_NONBLOCK | _O_BINARY)
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise _Unusable("not a regular file")
        if info.st_size > MAX_SESSION_BYTES:
            raise _Unusable(f"larger than {MAX_SESSION_BYTES // 2**20} MB")
        raw = handle.read(MAX_SESSION_BYTES + 1)
    if len(raw) > MAX_SESSION_BYTES:
        raise _Unusable(f"larger than {MAX_SESSION_BYTES // 2**20} MB")
    return raw, info


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _summary(path: Path) -> SessionSummary:
    name = _name_from_path(path)
    try:
        data = json.loads(_read_session_file(path)[0])
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError("not an Allos session file")
        messages = data.get("messages") or []
        turns = data.get("turns") or []
        last = turns[-1] if turns and isinstance(turns[-1], dict) else {}
        title = ""
        for message in messages:
            if message.get("role") == "user":
                text = "".join(
                    p.get("text", "") for p in message.get("parts", []) if p.get("type") == "text"
                )
                title = _title(text)
                break
        newer = isinstance(data.get("version"), int) and data["version"] > VERSION
        if not isinstance(messages, list):
            raise TypeError("messages is not a list")
        return SessionSummary(
            name=_text_or_none(data.get("name")) or name,
            path=path,
            updated_at=_parse_time(data.get("updated_at")),
            # like chat's /session: the conversation, not the system prompt
            messages=sum(
                1 for m in messages if not (isinstance(m, dict) and m.get("role") == "system")
            ),
            provider=_text_or_none(last.get("provider")),
            model=_text_or_none(last.get("model")),
            title=title,
            error="written by a newer Allos" if newer else None,
        )
    except RecursionError:
        error = "unreadable: corrupt (nested too deeply)"
        return SessionSummary(name, path, None, 0, None, None, "", error=error)
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        return SessionSummary(name, path, None, 0, None, None, "", error=f"unreadable: {exc}")


def list_sessions(directory: str | os.PathLike[str] | None = None) -> list[SessionSummary]:
    """The sessions saved under ``directory`` (default :func:`sessions_dir`), newest first."""
    folder = Path(directory) if directory is not None else sessions_dir()
    try:
        paths = [p for p in folder.iterdir() if p.suffix == ".json" and not p.name.startswith(".")]
    except FileNotFoundError:
        return []
    summaries = [_summary(p) for p in paths]
    oldest = datetime.min.replace(tzinfo=timezone.utc)

    def key(summary: SessionSummary) -> datetime:
        when = summary.updated_at or oldest
        return when if when.tzinfo else when.replace(tzinfo=timezone.utc)

    return sorted(summaries, key=key, reverse=True)


def delete_session(name_or_path: str | os.PathLike[str], force: bool = False) -> Path:
    """Delete a session file; returns its path.

    ``name_or_path`` is found with :func:`find_session` (a bare ``NAME.json`` means the one in
    :func:`sessions_dir` if it is there). The file is read first and deleted only if it is an
    Allos session file (of any version); a file that is not JSON or not an Allos session (say a
    ``package.json``, or a session file damaged beyond reading) is deleted only with
    ``force=True``. :class:`SessionError` if there is no such file or it is kept.
    """
    name, path = find_session(name_or_path)
    missing = SessionError(f"no session {name!r} at {path}", hint="see `allos sessions list`")
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise missing from None
    except OSError as exc:
        raise SessionError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(mode):
        raise SessionError(
            f"{path} is not a session file (not a regular file); not deleted",
            hint="give the name of a session (see `allos sessions list`) or the path of its file",
        )
    problem = _not_a_session(path)
    if problem is not None and not force:
        raise SessionError(
            f"{path} {problem}; not deleted",
            hint="check the name (see `allos sessions list`); to delete it anyway: "
            f"allos sessions rm --force {shlex.quote(str(path))}",
        )
    try:
        path.unlink()
    except FileNotFoundError:
        raise missing from None
    except OSError as exc:
        raise SessionError(f"cannot delete {path}: {exc.strerror or exc}") from None
    return path


def _not_a_session(path: Path) -> str | None:
    """Why the file at ``path`` is not an Allos session file, or None if it is one."""
    try:
        data = json.loads(_read_session_file(path)[0])
    except _Unusable as exc:
        return f"is not a usable session file ({exc})"
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    except (ValueError, UnicodeDecodeError):
        return "is not an Allos session file (not valid JSON)"
    except RecursionError:
        return "is not an Allos session file (nested too deeply)"
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return "is not an Allos session file"
    return None
