"""Typed messages between the dashboard's widgets and the app (widgets never fetch)."""

from __future__ import annotations

from textual.message import Message


class ServiceSelected(Message):
    """The cursor moved to another service; detail panes follow it."""

    def __init__(self, service: str | None) -> None:
        super().__init__()
        self.service = service


class StoreUpdated(Message):
    """The Hub finished a refresh; coalesced by the app into one redraw."""
