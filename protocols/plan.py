"""Procedures as plans (the Bluesky habit): a procedure is a generator that says what it
measured and what it found, batch by batch, and returns its result; whoever runs it decides
what becomes of each message: the run store records it (``hil.session.runner``), a GUI
draws it, a lab-time estimate ignores it (``run_plan`` with nothing to hear).

A plan yields

- :class:`Readings`: one batch of raw readings, each with its timestamp (one cycle on the
  software route, one instrument batch on the hardware route), to be stored at once;
- :class:`Found`: a setting found on the way (a sweep's currents after its coarse search),
  which a resumed run must go on with;
- :class:`Advance`: how far it is (``protocols.progress``'s one signature).

An error the runner meets while handling a message (a record refused, a stop asked for
between batches, a watched device retired) is thrown into the plan where it yielded, as
Bluesky's RunEngine does: the plan's own ``try``/``finally`` runs (an anisotropy plan turns
its field off; a survey marks a retired device and goes on with its next one).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from protocols.progress import Progress

__all__ = ["Advance", "Found", "Message", "Plan", "Readings", "run_plan"]

T = TypeVar("T")


@dataclass(frozen=True)
class Readings:
    """One batch of raw readings, to be stored in one transaction."""
    rows: list[dict]


@dataclass(frozen=True)
class Found:
    """Settings found while the plan ran, to be kept in the run's config."""
    settings: dict[str, Any]


@dataclass(frozen=True)
class Advance:
    """Progress: ``done`` of ``total`` units of ``stage``."""
    stage: str
    done: int
    total: int
    metrics: dict[str, float] = field(default_factory=dict)


Message = Readings | Found | Advance
Plan = Generator[Message, None, T]


def run_plan(plan: Plan[T], record: Callable[[list[dict]], None] | None = None,
             progress: Progress | None = None,
             found: Callable[..., None] | None = None) -> T:
    """Run ``plan`` to its end and return its result: each batch of readings to ``record``,
    each setting found to ``found(**settings)``, each advance to ``progress``; a message no
    one hears is dropped. An exception raised by a listener is thrown into the plan at its
    ``yield`` (module docstring); what the plan does not catch comes out of here."""
    if not isinstance(plan, Generator):
        raise TypeError("a procedure gives a plan: a generator that yields Readings (and "
                        f"Found, Advance) and returns its result, not {type(plan).__name__}")
    error: BaseException | None = None
    while True:
        try:
            message = next(plan) if error is None else plan.throw(error)
        except StopIteration as stop:
            return stop.value
        error = None
        try:
            if isinstance(message, Readings):
                if record is not None and message.rows:
                    record(message.rows)
            elif isinstance(message, Found):
                if found is not None:
                    found(**message.settings)
            elif isinstance(message, Advance):
                if progress is not None:
                    progress(message.stage, message.done, message.total, message.metrics)
            else:
                raise TypeError(f"a plan yields Readings, Found or Advance, not {message!r}")
        except BaseException as err:  # Ctrl-C included: the plan's finally must run
            error = err
