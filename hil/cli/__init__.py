"""The ``hil`` command line: one module per subcommand, shared helpers in ``common``."""

from hil.cli.main import main

__all__ = ["main"]
