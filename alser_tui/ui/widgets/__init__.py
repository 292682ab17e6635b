"""One widget class per module; each module's styles live in the .tcss file beside it."""
