"""Spot prices per price area: upload, read, import; the planner's input."""
