"""What a Ray worker runs for one task: unpack, run it like the local backend, send back.

The worker reads its own environment and config files for provider keys and options; nothing
secret arrives in the payload. The reply holds the result (its ``session`` left empty), the
session file's bytes for the driver to save, and with ``keep`` where the copy stays on this node.
"""

from __future__ import annotations

import shutil
import socket
import tempfile
from pathlib import Path
from typing import Any

from allos_core.batch.execute import TaskDefaults, execute_task
from allos_core.batch.tasks import BatchTask
from allos_core.errors import BatchError


def run_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """Run the task of one payload (see :mod:`allos_ray.payload`) and return the reply."""
    from allos_core.sync_loop import run_sync
    from allos_ray.payload import PAYLOAD_VERSION, unpack_workspace

    if payload.get("version") != PAYLOAD_VERSION:
        raise BatchError(
            f"payload version {payload.get('version')!r} is not {PAYLOAD_VERSION}",
            hint="install the same allos-ray version on the driver and the workers",
        )
    scratch = Path(tempfile.mkdtemp(prefix="allos-ray-"))
    try:
        task_data = dict(payload["task"])
        if payload.get("workspace") is not None:
            name = payload.get("workspace_name") or "workspace"
            folder = unpack_workspace(payload["workspace"], scratch / "original" / name)
            task_data["workspace"] = str(folder)
        task = BatchTask.from_mapping(task_data, f"task {task_data.get('id')!r}")
        defaults = TaskDefaults.from_dict(payload["defaults"])
        keep = bool(payload.get("keep"))
        result = run_sync(
            execute_task(task, defaults, sessions_dir=scratch / "sessions", keep=keep)
        )
        session = None
        if result.session:
            session = Path(result.session).read_bytes()
            result.session = None
        if result.workspace:
            result.workspace = f"{socket.gethostname()}:{result.workspace}"
        return {"result": result.to_dict(), "session": session}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
