"""``python -m server`` is the ``classroom`` command."""

import sys

from server.edge.cli import main

sys.exit(main())
