"""Departments and their handlers."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Department:
    code: str
    name: str
    head: str | None = None
    """Handler id of the department head, who receives level-2 escalations."""


@dataclass(frozen=True)
class Handler:
    handler_id: str
    department: str
    name: str
    on_duty: bool = True
