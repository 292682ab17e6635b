"""alser-tui: a live alarm console that guards a central log server."""

__version__ = "0.1.0"
