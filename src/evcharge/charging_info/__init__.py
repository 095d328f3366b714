"""Seed A: a device's charging information (the car and the driver's wish), versioned."""
