"""Line-API widgets drawn from cells, that send the terminal only the cells that changed.

A line is a list of (character, style key) cells. `CellLinesWidget` keeps the lines it drew,
diffs each new line against them and refreshes only the changed span, rendering `Strip`s
lazily through a bounded line cache. Textual 8 resends a dirty span from the left edge of the
widget that owns it, so `SlicedLines` cuts a table into column widgets (`_Slice`) at the
places that change on their own: a one-cell change then costs one cell, not a line.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable

from rich.segment import Segment
from rich.style import Style
from textual.app import ComposeResult
from textual.cache import LRUCache
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

LINE_CACHE = 1024  # rendered lines kept per widget: more than any terminal shows

Cell = tuple[str, str]  # (character, style key)


def text_cells(text: str, width: int, key: str, align: str = "<") -> list[Cell]:
    """`text` fitted to `width` cells (truncated with … when too long)."""
    if len(text) > width:
        text = text[: max(0, width - 1)] + "…" if width > 0 else ""
    text = f"{text:{align}{width}}"
    return [(ch, key) for ch in text]


def diff_spans(old: list[Cell] | None, new: list[Cell], gap: int = 3) -> list[tuple[int, int]]:
    """[(x, width)] spans where `new` differs from `old`; spans closer than `gap` merge, since
    each span costs a cursor move and a style switch."""
    if old is None or len(old) != len(new):
        return [(0, len(new))]
    spans: list[tuple[int, int]] = []
    start = end = -1
    for i, (a, b) in enumerate(zip(old, new, strict=True)):
        if a != b:
            if start >= 0 and i - end <= gap:
                end = i + 1
            else:
                if start >= 0:
                    spans.append((start, end - start))
                start, end = i, i + 1
    if start >= 0:
        spans.append((start, end - start))
    return spans


def cells_to_strip(cells: list[Cell], style_of: Callable[[str], Style], width: int) -> Strip:
    """Join runs of equal style into segments (each segment costs a style switch)."""
    segs: list[Segment] = []
    run: list[str] = []
    key: str | None = None
    for ch, k in cells:
        if k != key and run and key is not None:
            segs.append(Segment("".join(run), style_of(key)))
            run = []
        key = k
        run.append(ch)
    if run and key is not None:
        segs.append(Segment("".join(run), style_of(key)))
    return Strip(segs, width).crop(0, width)


def prefixed_style(widget: Widget, prefix: str, cache: dict[str, Style], key: str) -> Style:
    """The Rich style a cell's style key stands for in the current theme: the widget's style
    plus its `PREFIX--key` component class ("blank": the widget's own), cached in `cache`
    (cleared when the theme changes)."""
    style = cache.get(key)
    if style is None:
        style = widget.rich_style
        if key != "blank":
            style += widget.get_component_rich_style(f"{prefix}--{key}")
        cache[key] = style
    return style


class CellLinesWidget(Widget):
    """Base for Line-API widgets that redraw only changed cells.

    Subclasses implement `build_lines()` -> list of cell lists and `component_style(key)`.
    """

    def __init__(
        self, *, name: str | None = None, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._lines: list[list[Cell]] = []
        # rendered lines; bounded, as the design asks of every line cache
        self._strips: LRUCache[int, Strip] = LRUCache(LINE_CACHE)
        self._style_cache: dict[str, Style] = {}

    @abstractmethod
    def build_lines(self) -> list[list[Cell]]:
        """Every line of the widget as (character, style key) cells."""

    COMPONENT_PREFIX = ""  # "service-detail": key "spark" is the service-detail--spark class

    def component_style(self, key: str) -> Style:
        return prefixed_style(self, self.COMPONENT_PREFIX, self._style_cache, key)

    def style_of(self, key: str) -> Style:
        style = self._style_cache.get(key)
        if style is None:
            style = self._style_cache[key] = self.component_style(key)
        return style

    def redraw(self) -> int:
        """Rebuild the lines and refresh the changed spans; returns the number of spans."""
        if not self.is_mounted or self.size.width == 0:
            return 0
        new = self.build_lines()
        old = self._lines
        spans = 0
        regions: list[Region] = []
        for y, line in enumerate(new):
            prev = old[y] if y < len(old) else None
            line_spans = diff_spans(prev, line)
            if line_spans:
                # Textual 8 resends a dirty span from the widget's left edge, so several
                # spans on one line would resend that prefix several times: send one.
                x0 = line_spans[0][0]
                x1 = line_spans[-1][0] + line_spans[-1][1]
                regions.append(Region(x0, y, x1 - x0, 1))
                self._strips.discard(y)
                spans += 1
        for y in range(len(new), len(old)):
            regions.append(Region(0, y, self.size.width, 1))
            self._strips.discard(y)
        self._lines = new
        if regions:
            self.refresh(*regions)
        return spans

    def on_resize(self) -> None:
        self._lines = []
        self._strips.clear()
        self.redraw()
        self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._style_cache.clear()
        self._strips.clear()

    def render_line(self, y: int) -> Strip:
        strip = self._strips.get(y)
        if strip is None:
            width = self.size.width
            if y < len(self._lines):
                strip = cells_to_strip(self._lines[y], self.style_of, width)
            else:
                strip = Strip.blank(width, self.style_of("blank"))
            self._strips.set(y, strip)
        return strip


class _Slice(CellLinesWidget):
    """Columns [x0, x1) of its owner's lines, as a widget of its own (see SlicedLines)."""

    DEFAULT_CSS = "_Slice { height: 1fr; width: 1; }"

    def __init__(self, owner: SlicedLines) -> None:
        super().__init__()
        self.owner = owner
        self._src: list[list[Cell]] = []

    def set_lines(self, lines: list[list[Cell]]) -> None:
        self._src = lines
        if not self.redraw():  # unchanged, or not drawn (no width): keep them all the same
            self._lines = lines

    def build_lines(self) -> list[list[Cell]]:
        return self._src

    def component_style(self, key: str) -> Style:
        return self.owner.component_style(key)

    def on_resize(self) -> None:
        self._lines = []
        self._strips.clear()
        self.refresh()

    def forget(self) -> None:
        self._lines = []
        self._strips.clear()
        self.refresh()


class SlicedLines(Widget):
    """Lines of cells drawn by column widgets, each diffing its own slice.

    Textual 8 resends a dirty span from the left edge of the widget that owns it (the
    compositor's "chop"). Cutting a table into column widgets at the places that change on
    their own (the newest sparkline cell, each number) makes a one-cell change cost one cell.
    Subclasses give `build_lines()`, `column_edges()` (at most n + 1 x positions for the n
    column widgets made at start; the ones left over get no width) and
    `component_style(key)`; `redraw()` after the data changed.
    """

    DEFAULT_CSS = "SlicedLines { layout: horizontal; }"

    def __init__(self, slices: int, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._slices = [_Slice(self) for _ in range(slices)]
        self._style_cache: dict[str, Style] = {}
        self._lines: list[list[Cell]] = []  # the whole lines of the last redraw

    @abstractmethod
    def build_lines(self) -> list[list[Cell]]:
        """Every line of the whole table as (character, style key) cells."""

    @abstractmethod
    def column_edges(self) -> list[int]:
        """Up to n + 1 ascending x positions that cut the lines into column widgets."""

    COMPONENT_PREFIX = ""  # "service-detail": key "spark" is the service-detail--spark class

    def component_style(self, key: str) -> Style:
        return prefixed_style(self, self.COMPONENT_PREFIX, self._style_cache, key)

    def compose(self) -> ComposeResult:
        yield from self._slices

    def on_resize(self) -> None:
        self.redraw()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._style_cache.clear()
        for sl in self._slices:
            sl._strips.clear()
            sl.refresh()

    def reset(self) -> None:
        """Forget what is on screen (e.g. row height changed): the next redraw sends all."""
        for sl in self._slices:
            sl.forget()
        self.redraw()

    def redraw(self) -> int:
        """Build the full lines and hand each column widget its slice (it diffs it)."""
        if not self.is_mounted or self.size.width == 0:
            return 0
        lines = self.build_lines()
        edges = self.column_edges()
        edges += [edges[-1]] * (len(self._slices) + 1 - len(edges))
        self._lines = lines
        for sl, x0, x1 in zip(self._slices, edges[:-1], edges[1:], strict=True):
            if sl.styles.width is None or sl.styles.width.value != x1 - x0:
                sl.styles.width = x1 - x0
            sl.set_lines([line[x0:x1] for line in lines])
        return len(lines)
