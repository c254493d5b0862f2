"""The latency histogram with explicit buckets: a whole metric of a request in numpy batches.

This is the receiver's hot path (most OTLP latency metrics are explicit-bucket histograms,
and a collector forwards thousands of points a request), so no Python object per bucket:
points are read through `otlp_view.histogram_points` (attributes, bucket counts and bounds as
bytes); the full protobuf message of a point is read only on a rarer path (a new series, a
changed layout). Each series is a row of the `Matrix` of its bucket layout; the points of one
layout are applied in one call of `otlp_points.apply_rows`.

Whole-request path: when a request carries the same series in the same order as the last
request of that metric (equal `attribute_signature`) and they all were plain rows of one
matrix, `otlp_view.columns` reads every point's counts as numpy columns and there is no
per-point Python work at all; anything else takes the point-by-point path.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from tui.core.metrics.otlp_exemplars import add_exemplars
from tui.core.metrics.otlp_points import apply_rows
from tui.core.metrics.otlp_series import (
    NO_RECORDED_VALUE,
    IngestContext,
    Matrix,
    Row,
    Series,
    SeriesKey,
    ServiceState,
    is_error_point,
)
from tui.core.metrics.otlp_view import attribute_signature, columns, exemplars, histogram_points


class _Batch:
    """The points of one request that go to one matrix, in request order."""

    __slots__ = ("counts", "mat", "raw", "rows", "starts")

    def __init__(self, mat: Matrix) -> None:
        self.mat = mat
        self.rows: list[int] = []
        self.raw: list[bytes] = []  # bucket counts, packed fixed64
        self.counts: list[int] = []
        self.starts: list[int] = []


class ExplicitHistograms:
    """Ingest of a service's explicit-bucket latency histogram, one metric at a time."""

    def __init__(self, ctx: IngestContext) -> None:
        self.ctx = ctx
        self.batched_points = 0  # points taken by the whole-request path (for tests)

    def ingest(
        self, service: ServiceState, name: str, factor: float, data: Any, temporality: int
    ) -> tuple[int, int, str]:
        """(accepted, rejected, why the last rejected one was) of one Histogram message."""
        self.ctx.register(service)
        serialized = data.SerializeToString()
        n = len(data.data_points)
        signature = attribute_signature(serialized)
        if self._whole_request(service, name, serialized, n, signature, temporality):
            self.batched_points += n
            self._exemplars(service, name, serialized, factor)
            return n, 0, ""
        batches, flagged, rej, why = self._point_by_point(service, name, factor, data, serialized)
        acc = flagged
        for b in batches:
            acc += len(b.rows)
            self._apply(service, b, temporality)
        self._exemplars(service, name, serialized, factor)
        service.fast.pop(name, None)
        if not rej and not flagged and len(batches) == 1:
            b = batches[0]
            if len(b.rows) == n and b.mat.bounds_bytes is not None and len(set(b.rows)) == n:
                rows = np.asarray(b.rows, np.intp)
                service.fast[name] = (signature, b.mat, rows, service.generation)
        return acc, rej, why

    def _whole_request(
        self,
        service: ServiceState,
        name: str,
        serialized: bytes,
        n: int,
        signature: bytes,
        temporality: int,
    ) -> bool:
        """Apply the request from numpy columns if it is the last one's series set; False if not."""
        fast = service.fast.get(name)
        if fast is None or fast[0] != signature or fast[3] != service.generation:
            return False
        _, mat, rows, _ = fast
        assert mat.bounds_bytes is not None
        cols = columns(serialized, n, mat.nb, mat.bounds_bytes)
        if cols is None:
            return False
        starts, counts, buckets = cols
        cur = buckets.astype(np.float64)
        apply_rows(self.ctx, service, mat, rows, cur, counts, starts, temporality)
        return True

    def _point_by_point(
        self, service: ServiceState, name: str, factor: float, data: Any, serialized: bytes
    ) -> tuple[list[_Batch], int, int, str]:
        """The points grouped by matrix; (batches, flagged, rejected, why)."""
        rej = flagged = 0
        why = ""
        batches: dict[Matrix, _Batch] = {}
        series = service.series
        last: _Batch | None = None
        for i, dp in enumerate(histogram_points(serialized)):
            key = (name, tuple(dp.attributes))
            ent = series.get(key)
            if ent.__class__ is not tuple:  # not yet a matrix row: a new series, or another kind
                if isinstance(ent, Series):  # first seen as another kind: keep that
                    rej += 1
                    why = f"{name}: a histogram point for a series first seen as {ent.kind}"
                    continue
                found = self._new_series(service, key, factor, data.data_points[i])
                if isinstance(found, str):
                    rej += 1
                    why = found
                    continue
                ent = found
            assert isinstance(ent, tuple)
            mat, row = ent
            if dp.flags & NO_RECORDED_VALUE:
                mat.seen[row] = False  # the series ended; the next point starts afresh
                flagged += 1
                continue
            bc = dp.bucket_counts
            if len(bc) != mat.bc_bytes or dp.explicit_bounds != mat.bounds_bytes:
                if not bc:
                    if dp.count:  # count without buckets: no quantile can come from it
                        rej += 1
                        why = f"{name}: histogram point without bucket counts"
                    else:
                        flagged += 1
                    continue
                moved = self._relayout(service, key, factor, mat, data.data_points[i])
                if isinstance(moved, str):
                    rej += 1
                    why = moved
                    continue
                mat, row = moved
            if last is None or mat is not last.mat:  # a layout's points come together
                last = batches.get(mat)
                if last is None:
                    last = batches[mat] = _Batch(mat)
            last.rows.append(row)
            last.raw.append(bc)
            last.counts.append(dp.count)
            last.starts.append(dp.start_time_unix_nano)
        return list(batches.values()), flagged, rej, why

    def _new_series(
        self, service: ServiceState, key: SeriesKey, factor: float, full: Any
    ) -> Row | str:
        """A row for a series seen for the first time, or why it is refused."""
        bounds = tuple(full.explicit_bounds)
        nbc = len(full.bucket_counts)
        if nbc not in (0, len(bounds) + 1):
            return f"{key[0]}: {nbc} bucket counts for {len(bounds)} bounds"
        if any(not (a < b) for a, b in itertools.pairwise(bounds)) or any(
            math.isnan(b) or math.isinf(b) for b in bounds
        ):
            return f"{key[0]}: explicit bounds not strictly increasing and finite"
        mkey = (key[0], bounds)
        mat = service.matrices.get(mkey)
        if mat is None:
            mat = service.matrices[mkey] = Matrix(bounds, factor)
        if not self.ctx.cap.admit(service.name, key):
            return self.ctx.cap.refusal
        rid = service.by_route.route_id(full.attributes)
        row = service.series[key] = (mat, mat.new_row(is_error_point(full.attributes), rid))
        return row

    def _relayout(
        self, service: ServiceState, key: SeriesKey, factor: float, mat: Matrix, full: Any
    ) -> Row | str:
        """The row of a point not byte for byte its matrix's layout: the same row if equal as
        floats (0.0 == -0.0), else a row in the matrix of its new layout (or why not)."""
        nbc = len(full.bucket_counts)
        row = service.series[key]
        assert isinstance(row, tuple)
        if nbc == mat.nb and full.explicit_bounds == mat.bounds_raw:
            return row
        bounds = tuple(full.explicit_bounds)
        if nbc != len(bounds) + 1:
            return f"{key[0]}: {nbc} bucket counts for {len(bounds)} bounds"
        mkey = (key[0], bounds)
        new = service.matrices.get(mkey) or service.matrices.setdefault(
            mkey, Matrix(bounds, factor)
        )
        rid = service.by_route.route_id(full.attributes)
        row = service.series[key] = (new, new.new_row(is_error_point(full.attributes), rid))
        service.generation += 1  # a series moved: remembered row lists are stale
        return row

    def _apply(self, service: ServiceState, b: _Batch, temporality: int) -> None:
        mat = b.mat
        cur = np.frombuffer(b"".join(b.raw), dtype="<u8").astype(np.float64)
        cur = cur.reshape(len(b.rows), mat.nb)
        if len(set(b.rows)) == len(b.rows):
            apply_rows(self.ctx, service, mat, b.rows, cur, b.counts, b.starts, temporality)
            return
        for j, r in enumerate(b.rows):  # a series twice in one request: its points in order
            c, s = b.counts[j : j + 1], b.starts[j : j + 1]
            apply_rows(self.ctx, service, mat, [r], cur[j : j + 1], c, s, temporality)

    def _exemplars(
        self, service: ServiceState, name: str, serialized: bytes, factor: float
    ) -> None:
        """The exemplars of a latency histogram's points, each with its series' route."""
        found = exemplars(serialized)
        if not found:
            return
        views = histogram_points(serialized)
        for i, raws in found:
            ent = service.series.get((name, tuple(views[i].attributes)))
            if ent.__class__ is not tuple:
                continue  # the point was refused: its exemplars go with it
            assert isinstance(ent, tuple)
            mat, row = ent
            where = service.by_route.names[int(mat.route[row])]
            add_exemplars(self.ctx.store.exemplars, service.name, where, raws, factor)
