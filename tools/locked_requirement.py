"""Print one package's pip requirement as uv.lock pins it: its version and every hash locked.

uv installs everything from the lock, but uv itself has to come first, from pip, before anything
can read the lock: the Makefile and the image's builder run
``python tools/locked_requirement.py uv | pip install --require-hashes -r /dev/stdin``, so that
the uv they bootstrap is the locked one, checked against the locked hashes. Standard library
only, for the same reason.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

LOCK = Path(__file__).resolve().parent.parent / "uv.lock"


def requirement(name: str, lock: Path = LOCK) -> str:
    """``name==version --hash=…`` for every wheel and the sdist of ``name`` in ``lock``."""
    found = [p for p in tomllib.loads(lock.read_text())["package"] if p["name"] == name]
    if len(found) != 1:
        raise SystemExit(f"{lock}: expected one locked {name}, found {len(found)}")
    package = found[0]
    files = [*package.get("wheels", []), *([package["sdist"]] if "sdist" in package else [])]
    hashes = " ".join(f"--hash={file['hash']}" for file in files)
    return f"{name}=={package['version']} {hashes}"


if __name__ == "__main__":
    print(requirement(sys.argv[1] if len(sys.argv) > 1 else "uv"))
