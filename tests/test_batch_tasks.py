"""Reading a batch tasks file: every malformed line is reported with its number."""

from __future__ import annotations

import json

import pytest

from allos_core.batch.tasks import BatchTask, parse_tasks
from allos_core.errors import BatchTaskError


def parse(*lines: object) -> list[BatchTask]:
    text = [line if isinstance(line, str) else json.dumps(line) for line in lines]
    return parse_tasks(text, "tasks.jsonl")


def problems(*lines: object) -> list[str]:
    with pytest.raises(BatchTaskError) as caught:
        parse(*lines)
    return caught.value.problems


def test_a_valid_line_gives_a_task_and_blank_lines_are_skipped() -> None:
    [task] = parse(
        "",
        {
            "id": "a",
            "task": "do it",
            "workspace": "w",
            "allow": ["edit_file(src/**)"],
            "max_iterations": 3,
            "max_cost": 1,
            "schema": {"type": "object"},
        },
        "   ",
    )
    assert task.id == "a" and task.allow == ("edit_file(src/**)",) and task.max_cost == 1.0
    assert task.origin == "tasks.jsonl:2"
    assert BatchTask.from_mapping(task.to_dict()) == task


def test_every_bad_line_is_reported_with_its_number() -> None:
    found = problems(
        {"id": "ok", "task": "fine"},
        "{not json",
        {"task": "no id"},
        ["a", "list"],
        {"id": "x", "task": "t", "max_iterations": 0, "colour": "blue"},
    )
    assert found[0].startswith("tasks.jsonl:2: not valid JSON")
    assert found[1] == "tasks.jsonl:3: 'id' is required and must be a non-empty string"
    assert found[2] == "tasks.jsonl:4: a task must be a JSON object, not list"
    assert "tasks.jsonl:5: unknown field 'colour'" in found
    assert "tasks.jsonl:5: 'max_iterations' must be a positive whole number" in found


def test_a_duplicate_id_names_the_first_line() -> None:
    found = problems({"id": "a", "task": "t"}, {"id": "b", "task": "t"}, {"id": "a", "task": "u"})
    assert found == ["tasks.jsonl:3: id 'a' is already used on line 1"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"allow": "edit_file(**)"}, "'allow' must be a list of rule strings"),
        ({"deny": ["shell_exec("]}, "deny 'shell_exec('"),
        ({"max_cost": True}, "'max_cost' must be a positive number"),
        ({"max_cost": -1}, "'max_cost' must be a positive number"),
        ({"schema": "object"}, "'schema' must be a JSON object"),
        ({"workspace": "a", "repo": "b"}, "give 'workspace' or 'repo', not both"),
        ({"ref": "main"}, "'ref' needs a 'repo'"),
        ({"model": 4}, "'model' must be a string"),
    ],
)
def test_invalid_fields_are_refused(fields: dict, message: str) -> None:
    [problem] = problems({"id": "a", "task": "t", **fields})
    assert message in problem


def test_an_empty_file_is_an_error() -> None:
    with pytest.raises(BatchTaskError, match="no tasks"):
        parse("", "")
