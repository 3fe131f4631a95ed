"""``python -m hil.cli``: the ``hil`` command."""

import sys

from hil.cli.main import main

sys.exit(main())
