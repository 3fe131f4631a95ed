"""Connection errors (kept light, so the CLI can catch them without loading drivers)."""


class LabConnectionError(RuntimeError):
    """An instrument could not be reached; names the role and the address."""
