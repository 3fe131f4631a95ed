"""The one error for bad user input: it names the field and what is allowed. It is defined
with the procedures' settings (``protocols.errors``), which refuse bad values themselves."""

import sys
from pathlib import Path
from typing import Any

from protocols.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["ConfigError", "read_toml"]


def read_toml(path: str | Path) -> dict[str, Any]:
    """A user's TOML file, or a ConfigError saying why it cannot be read (a missing file,
    a syntax error with its line)."""
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except OSError as err:
        raise ConfigError("config", f"cannot read {path}: {err.strerror}") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError("config", f"{path} is not valid TOML: {err}") from None
