"""Screens: the main console, the drill-down into raw events, the key help."""
