"""Where the playbooks and migrations that ship with the service are found at run time.

The repository keeps them at its top level (``playbooks/``, ``migrations/``); setup.py maps those
folders to ``service.bundled.playbooks`` and ``service.bundled.migrations``, so a wheel carries them
inside the package and an editable install points these names at the checkout's folders (an
edited playbook takes effect there). Asking importlib.resources for the package, never a path
relative to this file, is what makes both installs agree.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

PLAYBOOKS = "service.bundled.playbooks"
MIGRATIONS = "service.bundled.migrations"


def playbooks_dir() -> Path:
    """The shipped playbook folder: the default for ``OUTAGE_PLAYBOOKS_DIR``."""
    return _folder(PLAYBOOKS)


def migrations_dir() -> Path:
    """The Alembic script folder (env.py, versions/)."""
    return _folder(MIGRATIONS)


def _folder(package: str) -> Path:
    # Loaders, Alembic and the CLI's messages want a real folder; an install from a zip file
    # (zipimport) has none, and saying so beats failing later on a missing file.
    folder = resources.files(package)
    if not isinstance(folder, Path):
        raise RuntimeError(f"{package} is not a folder on disk ({folder!r}); install unzipped")
    return folder
