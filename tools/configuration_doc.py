"""Write docs/configuration.md from ``service.config.Settings``: every field, as the environment
variable that sets it, its type, its default and its description.

    .venv/bin/python -m tools.configuration_doc > docs/configuration.md    # or: make docs

``tests/test_configuration_doc.py`` fails when the file differs from what this writes, so a
setting added without its line (or its description) does not go unnoticed.
"""

from __future__ import annotations

import sys
import types
from enum import Enum
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic.fields import FieldInfo

from service.config import Settings

HEADER = """\
# Configuration

<!-- Generated from service/config.py by `make docs` (python -m tools.configuration_doc); do not
     edit by hand: tests/test_configuration_doc.py fails when this file and the code differ. -->

The service reads its settings from environment variables, the prefix `{prefix}` and the
setting's name in capitals: {example}.

Every process reads them when it starts: `serve` and each of its workers, and every other
command (`db upgrade`, `tokens`, `subscriptions`, `drill`, `audit`, `playbooks check`), which
use the same database and playbooks. A value that does not fit its type stops the process,
naming the setting (`max_attempts` for `OUTAGE_MAX_ATTEMPTS`). Booleans are `true` or `false`;
durations are numbers, fractions allowed where the type is `float`.

How these settings are used in running the service (workers, PostgreSQL, delivery tuning) is in
[operations.md](operations.md).

| variable | type | default | what it does |
| --- | --- | --- | --- |
"""

# A bound's kind, the attribute holding its limit, and how it reads.
BOUNDS: dict[type, tuple[str, str]] = {
    annotated_types.Ge: ("ge", "≥"),
    annotated_types.Gt: ("gt", ">"),
    annotated_types.Le: ("le", "≤"),
    annotated_types.Lt: ("lt", "<"),
}


def type_name(annotation: Any) -> str:
    """How a field's type reads: ``int``, ``path``, ``json`` or ``console``."""
    if get_origin(annotation) is Literal:
        return " or ".join(f"`{value}`" for value in get_args(annotation))
    if get_origin(annotation) in (Union, types.UnionType):
        return " or ".join(type_name(arg) for arg in get_args(annotation) if arg is not type(None))
    if isinstance(annotation, type) and issubclass(annotation, Path):
        return "path"
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return " or ".join(f"`{member.value}`" for member in annotation)
    return getattr(annotation, "__name__", str(annotation))


def bounds(field: FieldInfo) -> str:
    """The field's numeric bounds, e.g. ``≥ 0``."""
    found = []
    for constraint in field.metadata:
        if type(constraint) in BOUNDS:
            attribute, sign = BOUNDS[type(constraint)]
            found.append(f"{sign} {getattr(constraint, attribute)}")
    return ", ".join(found)


def default(field: FieldInfo) -> str:
    """The default as it would be written in the environment; a computed one says so."""
    if field.default_factory is not None:
        return "computed (see its description)"
    value = field.default
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, Enum):
        text = str(value.value)
    else:
        text = str(value)
    return f"`{text}`" if text else '`""`'


def cell(text: str) -> str:
    """Text that may sit in a Markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|")


def variable(name: str) -> str:
    prefix = Settings.model_config.get("env_prefix", "")
    return f"{prefix}{name}".upper()


def render() -> str:
    """docs/configuration.md, as it must read. Raises ValueError for a field with no
    description: each setting says what it does."""
    prefix = Settings.model_config.get("env_prefix", "")
    first = next(iter(Settings.model_fields))
    rows = []
    for name, field in Settings.model_fields.items():
        if not field.description:
            raise ValueError(f"Settings.{name} has no Field(description=...)")
        kind = type_name(field.annotation)
        limits = bounds(field)
        rows.append(
            f"| `{variable(name)}` | {kind}{', ' + limits if limits else ''} | "
            f"{default(field)} | {cell(field.description)} |"
        )
    header = HEADER.format(prefix=prefix, example=f"`{variable(first)}` sets `{first}`")
    return header + "\n".join(rows) + "\n"


def main() -> int:
    sys.stdout.write(render())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
