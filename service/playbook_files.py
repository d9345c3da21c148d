"""Reading one playbook file: the YAML step every playbook loader shares.

Each loader (grids, classification, playbooks) checks the shape of its own file; this module only
turns the bytes into Python data, or a PlaybookError that names the file, where and why.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from service.errors import PlaybookError


def read_yaml(path: Path) -> Any:
    """The parsed content of `path` (None for an empty file).

    Raises PlaybookError(file, "(file)", "cannot read: …") when the file cannot be read, and
    PlaybookError(file, "line N", "malformed YAML: …") when it does not parse ("(file)" when
    the parser gives no position).
    """
    file = str(path)
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PlaybookError(file, "(file)", f"cannot read: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise PlaybookError(file, "(file)", f"cannot read: not UTF-8 ({exc.reason})") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        entry = f"line {mark.line + 1}" if mark is not None else "(file)"
        problem = getattr(exc, "problem", None) or str(exc)
        raise PlaybookError(file, entry, f"malformed YAML: {problem}") from exc
