"""``python -m hil``: the same command line as ``hil``."""

import sys

from hil.cli import main

sys.exit(main())
