"""The device-characterisation window (PyQt6 + pyqtgraph)."""
