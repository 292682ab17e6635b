"""The engine: sources -> parsers -> store/windows -> alarms. No Textual import below here."""
