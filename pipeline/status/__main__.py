"""``python -m pipeline.status``: sessions and rejected uploads, for operators (``pipeline.status.cli``)."""

from pipeline.status.cli import main

raise SystemExit(main())
