"""The Textual console. Everything under here may import Textual; the engine never does."""
