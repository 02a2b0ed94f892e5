"""The results file: one JSON line per finished task, appended and flushed as each finishes.

A line holds ``id``, ``stop_reason``, ``output``, ``usage``, ``cost``, ``duration_s``, ``diff``,
``workspace``, ``session`` and ``error`` (see :class:`TaskResult`). Each line is written with one
``write`` on a file opened for appending, then flushed to disk, so a crash or a kill loses only
the tasks still running. A torn last line (a kill in the middle of a write) is cut off when the
file is opened again. When an id has several lines (``--rerun-failed``), the last one counts.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from allos_core.errors import BatchError

#: stop reasons that count as done: the model gave its answer
ANSWERED = "answered"


@dataclass
class TaskResult:
    """The outcome of one task, as written to the results file."""

    id: str
    stop_reason: str
    output: Any = None
    usage: dict[str, Any] = field(default_factory=dict)
    cost: float | None = None
    duration_s: float = 0.0
    diff: str = ""
    workspace: str | None = None
    session: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when the model gave a final answer."""
        return self.stop_reason == ANSWERED

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TaskResult:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


class ResultsFile:
    """An append-only JSON-lines results file (see the module docstring)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        #: the last result read or written for each id
        self.latest: dict[str, TaskResult] = {}
        self._fd: int | None = None
        self._lock = threading.Lock()  # appends may come from several threads

    def read(self) -> dict[str, TaskResult]:
        """Read the results already in the file (cutting a torn last line); returns :attr:`latest`."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return self.latest
        except OSError as exc:
            raise BatchError(
                f"cannot read results file {self.path}: {exc.strerror or exc}",
                hint="pass another file with -o",
            ) from None
        complete = raw[: raw.rfind(b"\n") + 1]
        if len(complete) != len(raw):
            self._truncate(len(complete))
        for number, line in enumerate(complete.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                result = TaskResult.from_dict(data)
            except (ValueError, TypeError):
                raise BatchError(
                    f"{self.path}:{number} is not a results line written by allos batch",
                    hint="pass another file with -o (results files are only appended to)",
                ) from None
            self.latest[result.id] = result
        return self.latest

    def _truncate(self, size: int) -> None:
        with self.path.open("r+b") as handle:
            handle.truncate(size)

    def todo(self, ids: list[str], *, rerun_failed: bool = False) -> list[str]:
        """The ids still to run: not in the file, or (with ``rerun_failed``) not answered."""
        return [i for i in ids if i not in self.latest or (rerun_failed and not self.latest[i].ok)]

    def append(self, result: TaskResult) -> None:
        """Write one result line and flush it to disk (thread-safe)."""
        line = json.dumps(result.to_dict(), ensure_ascii=False, default=str) + "\n"
        data = line.encode("utf-8")
        with self._lock:
            if self._fd is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            written = 0
            while written < len(data):
                written += os.write(self._fd, data[written:])
            os.fsync(self._fd)
            self.latest[result.id] = result

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
