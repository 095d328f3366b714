"""evcharge: an open-source EV-charging backend."""
