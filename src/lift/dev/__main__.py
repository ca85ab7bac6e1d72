"""`python -m lift.dev` runs the dev server (same as `python -m lift.dev.server`)."""

from lift.dev.server import main

raise SystemExit(main())
