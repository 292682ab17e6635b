"""The command palette (ctrl+p): every console action and every parser, by name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from alser_tui.ui.app import AlserApp


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    help: str
    run: Callable[[], object]


class ConsoleCommands(Provider):
    @property
    def alser(self) -> AlserApp:
        return cast("AlserApp", self.app)

    def commands(self) -> list[Command]:
        return self.alser.palette_commands()

    async def discover(self) -> Hits:
        for c in self.commands():
            yield DiscoveryHit(c.name, c.run, help=c.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for c in self.commands():
            # The help text counts too: "map.php" finds nothing by name, "PHP errors" does.
            score = max(matcher.match(c.name), matcher.match(c.help) * 0.8)
            if score > 0:
                yield Hit(score, matcher.highlight(c.name), c.run, text=c.name, help=c.help)


def command(name: str, help_text: str, fn: Callable[..., object], *args: object) -> Command:
    return Command(name, help_text, partial(fn, *args) if args else fn)
