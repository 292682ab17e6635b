"""`alser-tui convert`: the original Go tool's config ("ljson") into the TOML schema."""

from alser_tui.convert.legacy import LegacySyntaxError, loads
from alser_tui.convert.mapping import Conversion, convert

__all__ = ["Conversion", "LegacySyntaxError", "convert", "loads"]
