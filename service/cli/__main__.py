"""``python -m service.cli``: the same command as the ``outage-coordinator`` console script."""

from service.cli import main

raise SystemExit(main())
