"""Allow ``python -m jamming``."""

from jamming.cli import main

raise SystemExit(main())
