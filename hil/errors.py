"""The one error for bad user input: it names the field and what is allowed. It is defined
with the procedures' settings (``protocols.errors``), which refuse bad values themselves."""

from protocols.errors import ConfigError

__all__ = ["ConfigError"]
