"""Typed messages between the sources, the dashboard's widgets and the app (widgets never fetch)."""

from __future__ import annotations

from textual.message import Message

from tui.core.events import SourceEvent


class ServiceSelected(Message):
    """The cursor moved to another service; detail panes follow it."""

    def __init__(self, service: str | None) -> None:
        super().__init__()
        self.service = service


class StoreUpdated(Message):
    """A refresh put new points in the store; the app coalesces these into one redraw (a
    queued one is superseded by the next, and a short timer joins close refreshes)."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, StoreUpdated)


class SourceEventPosted(Message):
    """One of a source's typed events (tui.core.events), posted from whatever thread."""

    def __init__(self, event: SourceEvent) -> None:
        super().__init__()
        self.event = event
