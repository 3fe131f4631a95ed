"""The protocols' errors (kept light, so the CLI can catch them without loading drivers)."""


class ProtocolError(RuntimeError):
    """The run cannot go on safely; the message says why."""


class ConfigError(ValueError):
    """Bad input, refused before any instrument is touched: it names the field and what is
    allowed. The one such error of the whole project (``hil.errors`` gives it to the rooms
    above), so a setting refused here reads the same from a script, the CLI or the GUI."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name


class DeviceRetired(RuntimeError):
    """A watched run retired the routed ``device`` (worn out, stuck): a procedure over many
    devices (a survey) marks it and goes on with the next one."""

    def __init__(self, device: int, reason: str) -> None:
        super().__init__(f"device {device} retired: {reason}")
        self.device, self.reason = device, reason
