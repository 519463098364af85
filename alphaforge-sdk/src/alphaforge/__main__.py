"""``python -m alphaforge``: the ``alphaforge`` command with this interpreter."""

from alphaforge.cli import main

raise SystemExit(main())
