"""Room for a worker's metrics files, taken on disk before prometheus-client maps them.

In multiprocess mode (service.api.metrics) prometheus-client keeps each process's values in
files of the folder ``PROMETHEUS_MULTIPROC_DIR``, one per kind of metric, named
``{kind}_{pid}.db``, which it creates sparse (``truncate``) and writes through a memory map. A
page of a sparse file first touched when its disk is full cannot be given a block, and the kernel
kills the process with SIGBUS: the whole worker, at a counter's increment. So each worker creates
its files itself, before the library is imported, with every block allocated
(``posix_fallocate``); the library opens them as they are (it keeps a file's size when it is not
empty) and never meets the disk again while the service's few series fit, which they do many
times over. Where the disk has no room even for that, the worker counts in its own memory
instead and says so; it serves all the same.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path
from typing import Final

log = logging.getLogger(__name__)

MULTIPROCESS_ENV: Final = "PROMETHEUS_MULTIPROC_DIR"  # prometheus-client's own variable
# The kinds of file the service's metrics make (service.api.metrics: counters, a histogram, a
# gauge in "liveall" mode); tests/test_metric_files.py holds this to what the app makes.
KINDS: Final = ("counter", "histogram", "gauge_liveall")
# The size prometheus-client gives a new file; it grows a file only once the values fill it.
SIZE: Final = 1 << 20


def file_names(pid: int) -> list[str]:
    return [f"{kind}_{pid}.db" for kind in KINDS]


def reserve(folder: Path, pid: int) -> bool:
    """This process's files in ``folder``, each ``SIZE`` bytes with its blocks allocated;
    False, and none of them left, when the disk has no room for them."""
    made: list[Path] = []
    try:
        for name in file_names(pid):
            path = folder / name
            descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            made.append(path)
            try:
                os.posix_fallocate(descriptor, 0, SIZE)
            finally:
                os.close(descriptor)
    except OSError as error:
        for path in made:
            with contextlib.suppress(OSError):
                path.unlink()
        log.warning(
            "metrics: no room for this worker's files in %s (%s); it counts in its own memory, "
            "and a scrape it answers shows its own counts only",
            folder,
            error,
        )
        return False
    return True


def reserve_for_this_worker() -> None:
    """Before prometheus-client is imported in a worker: its files reserved, or multiprocess
    mode left for this worker alone when the disk has no room (``reserve``)."""
    folder = os.environ.get(MULTIPROCESS_ENV)
    if folder and not reserve(Path(folder), os.getpid()):
        del os.environ[MULTIPROCESS_ENV]
