"""What travels to a Ray worker: the packed workspace, no keys, the round trip (no Ray needed)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import pickle
import tarfile
import tempfile
from pathlib import Path
from typing import Any

import pytest
from allos_ray.backend import RayBackend
from allos_ray.payload import build_payload, unpack_workspace
from allos_ray.worker import run_payload
from batch_support import call, make_workspace, task_line, write_script

from allos_core.batch import TaskDefaults, run_batch
from allos_core.batch.tasks import BatchTask
from allos_core.errors import BatchError

MB = 1024 * 1024


class InProcessRemote:
    """Stands in for ``ray.remote(run_payload)``: records each payload, runs it on a thread."""

    def __init__(self) -> None:
        self.payloads: list[bytes] = []

    def remote(self, payload: dict[str, Any]) -> Any:
        raw = pickle.dumps(payload)  # what Ray would serialise and ship
        self.payloads.append(raw)
        return asyncio.ensure_future(asyncio.to_thread(run_payload, pickle.loads(raw)))


class InProcessRay(RayBackend):
    name = "ray"

    async def start(self) -> None:
        self._remote = InProcessRemote()


def test_provider_keys_never_travel_in_the_payload(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given keys in the environment and in the user config file
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env-secret-123")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-env-secret-456")
    config = tmp_path / "config.toml"
    config.write_text('[providers.scripted]\napi_key = "sk-config-secret-789"\n')
    monkeypatch.setenv("ALLOS_CONFIG_FILE", str(config))
    workspace = make_workspace(tmp_path / "ws")
    script = write_script(tmp_path, ["fine"])
    backend = InProcessRay(settings={})
    # when a task runs through the backend
    [result] = run_batch(
        [task_line("a", script, workspace)],
        backend=backend,
        defaults=TaskDefaults(allow=("read_file(**)",)),
        results=tmp_path / "out.jsonl",
    )
    # then it ran, and no key is anywhere in what was shipped
    assert result.ok
    [raw] = backend._remote.payloads
    for secret in (b"sk-env-secret-123", b"sk-ant-env-secret-456", b"sk-config-secret-789"):
        assert secret not in raw


def test_the_round_trip_brings_back_the_diff_and_the_session(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path / "ws")
    script = write_script(
        tmp_path, [{"tool_calls": [call("write_file", path="notes.txt", content="new\n")]}, "ok"]
    )
    [result] = run_batch(
        [task_line("a", script, workspace, allow=["write_file(**)"])],
        backend=InProcessRay(settings={}),
        results=tmp_path / "out.jsonl",
    )
    assert result.ok and "+new" in result.diff
    session = Path(result.session)
    assert session.parent == tmp_path / "out.sessions"
    assert json.loads(session.read_text())["format"] == "allos-session"
    assert (workspace / "notes.txt").read_text() == "original\n"


def test_a_workspace_over_the_cap_fails_that_task_with_a_hint(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path / "ws")
    (workspace / "noise.bin").write_bytes(os.urandom(2 * MB))  # random bytes do not compress
    task = BatchTask.from_mapping({"id": "a", "task": "t", "workspace": str(workspace)})
    with pytest.raises(BatchError, match="more than 1 MiB") as caught:
        build_payload(task, TaskDefaults(), keep=False, max_bytes=1 * MB)
    assert "max_workspace_mb" in (caught.value.hint or "")


def _crafted(*entries: tarfile.TarInfo) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for info in entries:
            archive.addfile(info, io.BytesIO(b"owned") if info.isfile() else None)
    return buffer.getvalue()


def _file(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = len(b"owned")
    return info


def _link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info


@pytest.fixture(params=["python's data filter", "our checks (Python < 3.11.4)"])
def extraction(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.param.startswith("our"):
        monkeypatch.delattr(tarfile, "data_filter", raising=False)


@pytest.mark.parametrize(
    "entries",
    [
        [_file("../escaped.txt")],
        [_file(f"{tempfile.gettempdir()}/allos-ray-escaped-abs.txt")],
        [_link("out", "/etc"), _file("out/passwd")],
        [_link("up", "../..")],
        [_link("hard", "../escaped.txt", tarfile.LNKTYPE)],
    ],
    ids=["dotdot", "absolute", "symlink-then-write", "symlink-up", "hardlink-out"],
)
def test_a_crafted_archive_cannot_write_outside_the_folder(
    tmp_path: Path, extraction: None, entries: list[tarfile.TarInfo]
) -> None:
    # refused, or (python's filter, for an absolute name) kept inside: never written outside
    with contextlib.suppress(BatchError):
        unpack_workspace(_crafted(*entries), tmp_path / "into")
    assert not (tmp_path / "escaped.txt").exists()
    assert not (Path(tempfile.gettempdir()) / "allos-ray-escaped-abs.txt").exists()
    assert not (tmp_path / "into" / "out" / "passwd").exists()
    into = os.path.realpath(tmp_path / "into")
    for path in (tmp_path / "into").rglob("*"):  # links included: each leads inside
        assert os.path.realpath(path).startswith(into + os.sep)


def test_a_safe_archive_unpacks_with_either_extraction(tmp_path: Path, extraction: None) -> None:
    inside = _link("docs/readme", "../notes.txt")
    into = unpack_workspace(_crafted(_file("notes.txt"), inside), tmp_path / "into")
    assert (into / "notes.txt").read_bytes() == b"owned"
    assert (into / "docs" / "readme").is_symlink()


def test_a_repo_task_sends_no_files(tmp_path: Path) -> None:
    task = BatchTask.from_mapping({"id": "a", "task": "t", "repo": "https://example.invalid/r.git"})
    payload = build_payload(task, TaskDefaults(), keep=False, max_bytes=MB)
    assert payload["workspace"] is None and payload["task"]["repo"].endswith("r.git")


def test_bad_settings_are_refused() -> None:
    from allos_core.errors import ConfigError

    with pytest.raises(ConfigError, match="max_workspace_mb"):
        RayBackend(settings={"max_workspace_mb": "big"})
