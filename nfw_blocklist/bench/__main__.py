"""``python -m nfw_blocklist.bench``: see ``nfw_blocklist.bench.cli``."""

from nfw_blocklist.bench.cli import main

raise SystemExit(main())
