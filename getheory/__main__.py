"""`python -m getheory` runs the command line (see :mod:`getheory.cli`)."""

from .cli import main

raise SystemExit(main())
