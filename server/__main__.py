"""``python -m server`` is the ``classroom`` command."""

import sys

from server.cli import main

sys.exit(main())
