"""What this process knows of the source outputs it has connected to. An output counts as
off only once its instrument has answered ``OUTP?`` with 0 after the last switch-off, so the
operator is never told "outputs are off" on a guess (kept light: the CLI reads it without
loading drivers)."""

from __future__ import annotations

_maybe_on: dict[str, str | None] = {}  # output -> why it may be on, None once confirmed off


def in_use(output: str) -> None:
    """A source output is connected: on or off as the run goes, until confirmed off."""
    _maybe_on[output] = "in use, not confirmed off"


def confirmed_off(output: str) -> None:
    """The instrument answered ``OUTP?`` with 0: this output may be reported off."""
    _maybe_on[output] = None


def may_be_on(output: str, why: str) -> None:
    """This output may be on (``why`` says how); the operator is told so, with its address."""
    _maybe_on[output] = why


def forget() -> None:
    """A new command starts: nothing connected yet."""
    _maybe_on.clear()


def unconfirmed() -> dict[str, str]:
    """Each output that may still be on, with the reason."""
    return {output: why for output, why in _maybe_on.items() if why is not None}


def summary() -> str | None:
    """One line for the operator, or None when no source output was connected."""
    maybe_on = unconfirmed()
    if maybe_on:
        return ("WARNING: " + "; ".join(f"{output} may still be on ({why})"
                                        for output, why in maybe_on.items())
                + ": switch it off at the instrument")
    if _maybe_on:
        return "outputs are off (confirmed by OUTP?)"
    return None
