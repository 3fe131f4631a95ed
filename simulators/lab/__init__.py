"""The virtual lab: emulators of the Keithley instruments built from their manuals, wired to
simulated devices and served on loopback sockets for pyvisa-py."""
