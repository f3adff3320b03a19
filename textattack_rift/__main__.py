"""``python -m textattack_rift`` is the ``textattack-rift`` command."""

import sys

from textattack_rift.integration.cli import main

sys.exit(main())
