"""The protocols' one error (kept light, so the CLI can catch it without loading drivers)."""


class ProtocolError(RuntimeError):
    """The run cannot go on safely; the message says why."""
