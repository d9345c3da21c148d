"""Reading `playbooks/classification.yaml`: plan 1.5's thresholds as data."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from service.errors import PlaybookError
from service.plan.classification import ClassificationRules
from service.playbooks.files import read_yaml


def load_rules(path: Path) -> ClassificationRules:
    """Read and check a classification file; PlaybookError names the file, entry and reason."""
    file = str(path)
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise PlaybookError(file, "(file)", "expected a mapping with 'levels' and 'rules'")
    try:
        parsed = ClassificationRules.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = [part for part in error["loc"] if part != "[key]"]
        msg = str(error["msg"]).removeprefix("Value error, ")
        cut = 2 if len(loc) > 1 and isinstance(loc[1], int) else 1
        entry = f"{loc[0]}[{loc[1]}]" if cut == 2 else str(loc[0]) if loc else "(file)"
        rest = ".".join(map(str, loc[cut:]))
        raise PlaybookError(file, entry, f"{rest}: {msg}" if rest else msg) from exc
    for index, rule in enumerate(parsed.rules):
        if rule.level not in parsed.levels:
            raise PlaybookError(
                file, f"rules[{index}]", f"level {rule.level} has no name in levels"
            )
    return parsed
