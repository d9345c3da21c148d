"""Reading playbook files: the steps every playbook loader shares.

Each loader (grids, classification, agencies, checklists) checks the shape of its own file; this
module turns the bytes into Python data, and a list's entries into validated models, or raises a
PlaybookError that names the file, the entry and why.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, TypeVar

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError

from service.errors import PlaybookError
from service.plan.clauses import PLAN_CLAUSES

# libyaml's parser (PyYAML's wheels carry it) reads the playbooks about six times faster than the
# pure-Python one, with the same safe subset and the same error marks; the pure one where it is
# missing.
SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: Path) -> Any:
    """The parsed content of `path` (None for an empty file).

    Raises PlaybookError(file, "(file)", "cannot read: …") when the file cannot be read, and
    PlaybookError(file, "line N", "malformed YAML: …") when it does not parse ("(file)" when
    the parser gives no position).
    """
    file = str(path)
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER)
    except OSError as exc:
        raise PlaybookError(file, "(file)", f"cannot read: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise PlaybookError(file, "(file)", f"cannot read: not UTF-8 ({exc.reason})") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        entry = f"line {mark.line + 1}" if mark is not None else "(file)"
        problem = getattr(exc, "problem", None) or str(exc)
        raise PlaybookError(file, entry, f"malformed YAML: {problem}") from exc


# --- entries ------------------------------------------------------------------------------------


def _plan_clause(clause: str) -> str:
    if clause not in PLAN_CLAUSES:
        raise ValueError(f"{clause!r} is not a clause of the plan")
    return clause


def _not_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("must not be empty")
    return text


Clause = Annotated[str, AfterValidator(_plan_clause)]
Text = Annotated[str, AfterValidator(_not_blank)]


class Entry(BaseModel):
    """One entry of a playbook list: strict, no unknown fields, immutable."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


_M = TypeVar("_M", bound=BaseModel)


def validated(model: type[_M], raw: dict[str, Any], file: str, entry: str) -> _M:
    """``raw`` as a ``model``; a PlaybookError naming the file, entry, field and reason if not."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(map(str, error["loc"]))
        msg = str(error["msg"]).removeprefix("Value error, ")
        raise PlaybookError(file, entry, f"{where}: {msg}" if where else msg) from exc


def entries(path: Path, name: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(label, entry, raw mapping) for each entry of the `name` list of a file holding only it;
    `entry` is the entry's `key` or `code` when it has a string one, else its label."""
    file = str(path)
    data = read_yaml(path)
    if not isinstance(data, dict) or name not in data:
        raise PlaybookError(file, "(file)", f"expected a mapping with an '{name}' list")
    if extra := sorted(map(str, set(data) - {name})):
        raise PlaybookError(file, extra[0], f"unknown key; the file holds only '{name}'")
    listed = data[name]
    if not isinstance(listed, list) or not listed:
        raise PlaybookError(file, name, f"expected a non-empty list of {name}")
    for index, raw in enumerate(listed):
        label = f"{name}[{index}]"
        if not isinstance(raw, dict):
            raise PlaybookError(file, label, "expected a mapping")
        named = raw.get("key", raw.get("code"))
        yield label, named if isinstance(named, str) else label, raw
