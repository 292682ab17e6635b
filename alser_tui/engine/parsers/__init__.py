"""Parsers turn an ALS message into a typed row for one parser's table."""

from __future__ import annotations

from alser_tui.engine.config import Config, ParserConfig
from alser_tui.engine.parsers.base import REJECTED, Drop, Parser, Row
from alser_tui.engine.parsers.hostline import HostLineParser
from alser_tui.engine.parsers.json import JsonParser
from alser_tui.engine.parsers.regex import RegexParser

PARSER_CLASSES: dict[str, type[Parser]] = {
    "json": JsonParser,
    "regex": RegexParser,
    "hostline": HostLineParser,
}


def build_parser(config: ParserConfig, app_config: Config) -> Parser:
    """The parser for config.kind (the config has already checked the kind and its fields)."""
    try:
        cls = PARSER_CLASSES[config.kind]
    except KeyError:
        raise ValueError(f"unknown parser kind {config.kind!r}") from None
    return cls(config, app_config)


__all__ = [
    "PARSER_CLASSES",
    "REJECTED",
    "Drop",
    "HostLineParser",
    "JsonParser",
    "Parser",
    "RegexParser",
    "Row",
    "build_parser",
]
