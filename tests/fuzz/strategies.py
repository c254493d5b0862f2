"""Hypothesis strategies for valid inputs: pprof Profile messages, folded text, OTLP requests.

Each returns the input together with what an exact reader must find in it (value sums per
sample type; the request itself for OTLP), so the unmutated case checks exactness too.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.metrics.v1 import metrics_pb2

from tui.core.pprof import schema
from tui.core.pprof.limits import MAX_STACK_DEPTH

names = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)


@dataclass(frozen=True)
class PprofCase:
    data: bytes
    sums: list[int]  # per sample type, over all samples
    rooted: bool  # every sample has a stack (its value lands on a function) and no drop_frames


@st.composite
def pprof_profiles(draw: st.DrawFn) -> PprofCase:
    """A valid profile.proto: functions, inlined lines, mappings, labels, odd ids."""
    strings: dict[str, int] = {"": 0}

    def s(text: str) -> int:
        return strings.setdefault(text, len(strings))

    p = schema.Profile()
    ntypes = draw(st.integers(1, 3))
    for i in range(ntypes):
        vt = p.sample_type.add()
        vt.type, vt.unit = (
            s(draw(st.sampled_from(["samples", "cpu", "alloc_space", "x"])) + str(i)),
            s(draw(st.sampled_from(["count", "nanoseconds", "bytes"]))),
        )
    nmap = draw(st.integers(0, 2))
    for m in range(1, nmap + 1):
        p.mapping.add(
            id=m, memory_start=0x400000 * m, memory_limit=0x800000 * m, filename=s(f"/bin/m{m}")
        )
    nfunc = draw(st.integers(1, 12))
    fid_base = draw(st.sampled_from([1, 1, 1000, 2**40]))
    for i in range(nfunc):
        p.function.add(
            id=fid_base + i,
            name=s(draw(names)),
            system_name=s(draw(names)),
            filename=s(draw(st.sampled_from(["main.go", "x/y.go", ""]))),
            start_line=draw(st.integers(0, 10_000)),
        )
    nloc = draw(st.integers(1, 15))
    lid_base = draw(st.sampled_from([1, 1, 7, 2**33]))
    for i in range(nloc):
        loc = p.location.add(id=lid_base + i, address=draw(st.integers(0, 2**48)))
        if nmap and draw(st.booleans()):
            loc.mapping_id = draw(st.integers(1, nmap))
        for _ in range(draw(st.integers(0, 3))):
            loc.line.add(
                function_id=fid_base + draw(st.integers(0, nfunc - 1)),
                line=draw(st.integers(0, 5000)),
            )
    sums = [0] * ntypes
    rooted = True
    nsamples = draw(st.integers(0, 25))
    deep = draw(st.integers(0, 60)) == 0
    for k in range(nsamples):
        if deep and k == 0:
            depth = draw(
                st.sampled_from([MAX_STACK_DEPTH // 2, MAX_STACK_DEPTH + 1, 3 * MAX_STACK_DEPTH])
            )
            stack = [lid_base + (j % nloc) for j in range(depth)]
        else:
            stack = [
                lid_base + draw(st.integers(0, nloc - 1)) for _ in range(draw(st.integers(0, 12)))
            ]
        rooted = rooted and bool(stack)
        vals = [draw(st.integers(-(10**6), 10**9)) for _ in range(ntypes)]
        smp = p.sample.add(location_id=stack, value=vals)
        for _ in range(draw(st.integers(0, 2))):
            if draw(st.booleans()):
                smp.label.add(key=s(draw(st.sampled_from(["thread", "span"]))), str=s(draw(names)))
            else:
                smp.label.add(key=s("bytes"), num=draw(st.integers(0, 2**20)), num_unit=s("bytes"))
        for t in range(ntypes):
            sums[t] += vals[t]
    if draw(st.integers(0, 20)) == 0:
        p.drop_frames = s("runtime\\..*")
        rooted = False
    p.period = draw(st.integers(0, 10**7))
    p.time_nanos = draw(st.integers(0, 2**62))
    p.duration_nanos = draw(st.integers(0, 10**11))
    p.comment.extend(s(c) for c in draw(st.lists(names, max_size=2)))
    if draw(st.booleans()):
        p.default_sample_type = p.sample_type[draw(st.integers(0, ntypes - 1))].type
    p.string_table.extend(strings)
    return PprofCase(p.SerializeToString(), sums, rooted and nsamples > 0)


frame_names = st.text(
    st.characters(
        codec="utf-8", exclude_categories=["Cs", "Zs", "Zl", "Zp", "Cc"], exclude_characters=";#"
    ),
    min_size=1,
    max_size=10,
)


@st.composite
def folded_texts(draw: st.DrawFn) -> tuple[bytes, int]:
    """Folded stacks `a;b;c N` (and the sum of N), with comments and blank lines."""
    lines = []
    total = 0
    for _ in range(draw(st.integers(1, 30))):
        frames = draw(st.lists(frame_names, min_size=1, max_size=10))
        v = draw(st.integers(0, 10**12))
        total += v
        lines.append(";".join(frames) + " " + str(v))
        if draw(st.integers(0, 10)) == 0:
            lines.append(draw(st.sampled_from(["", "# comment", "   "])))
    return ("\n".join(lines) + draw(st.sampled_from(["\n", "", "\r\n"]))).encode(), total


def kv(key: str, v: object) -> KeyValue:
    if isinstance(v, bool):
        return KeyValue(key=key, value=AnyValue(bool_value=v))
    if isinstance(v, int):
        return KeyValue(key=key, value=AnyValue(int_value=v))
    return KeyValue(key=key, value=AnyValue(string_value=str(v)))


SERVICES = ["checkout", "api", "", "svc-" + "x" * 40]
floats = st.floats(allow_nan=True, allow_infinity=True, width=64)
u64 = st.sampled_from([0, 1, 3, 1000, 2**31, 2**53, 2**63, 2**64 - 1]) | st.integers(0, 10**6)
times = st.sampled_from([0, 1, 10**18, 1_700_000_000 * 10**9, 2**64 - 1]) | st.integers(0, 2**63)


@st.composite
def attributes(draw: st.DrawFn) -> list[KeyValue]:
    out = []
    for _ in range(draw(st.integers(0, 3))):
        key = draw(st.sampled_from(["http.response.status_code", "error.type", "http.route", "k"]))
        out.append(kv(key, draw(st.integers(-1, 600) | names | st.booleans())))
    return out


@st.composite
def metric(draw: st.DrawFn) -> metrics_pb2.Metric:
    name = draw(
        st.sampled_from(
            ["http.server.request.duration", "http.server.duration", "rpc.server.duration", "other"]
        )
    )
    unit = draw(st.sampled_from(["s", "ms", "us", "", "By"]))
    kind = draw(
        st.sampled_from(["histogram", "exponential_histogram", "sum", "gauge", "summary", "none"])
    )
    temporality = metrics_pb2.AggregationTemporality.ValueType(draw(st.integers(0, 3)))
    m = metrics_pb2.Metric(name=name, unit=unit)
    npts = draw(st.integers(0, 4))
    if kind == "histogram":
        h = m.histogram
        h.aggregation_temporality = temporality
        for _ in range(npts):
            bounds = draw(st.lists(floats, max_size=6))
            if draw(st.booleans()):
                bounds = sorted(b for b in bounds if b == b)
            nb = len(bounds) + 1 if draw(st.integers(0, 5)) else draw(st.integers(0, 9))
            counts = draw(st.lists(u64, min_size=nb, max_size=nb))
            h.data_points.add(
                attributes=draw(attributes()),
                start_time_unix_nano=draw(times),
                time_unix_nano=draw(times),
                count=draw(st.just(sum(counts) % 2**64) | u64),
                sum=draw(floats),
                bucket_counts=counts,
                explicit_bounds=bounds,
                flags=draw(st.integers(0, 3)),
            )
    elif kind == "exponential_histogram":
        e = m.exponential_histogram
        e.aggregation_temporality = temporality
        for _ in range(npts):
            dp = e.data_points.add(
                attributes=draw(attributes()),
                start_time_unix_nano=draw(times),
                time_unix_nano=draw(times),
                count=draw(u64),
                scale=draw(st.integers(-12, 22) | st.sampled_from([-(2**31), 2**31 - 1])),
                zero_count=draw(u64),
                zero_threshold=draw(floats),
                flags=draw(st.integers(0, 3)),
            )
            dp.positive.offset = draw(st.integers(-(2**31), 2**31 - 1))
            dp.positive.bucket_counts.extend(draw(st.lists(u64, max_size=8)))
            dp.negative.offset = draw(st.integers(-50, 50))
            dp.negative.bucket_counts.extend(draw(st.lists(u64, max_size=3)))
    elif kind in ("sum", "gauge"):
        g = getattr(m, kind)
        if kind == "sum":
            g.aggregation_temporality = temporality
            g.is_monotonic = draw(st.booleans())
        for _ in range(npts):
            dp = g.data_points.add(attributes=draw(attributes()), time_unix_nano=draw(times))
            if draw(st.booleans()):
                dp.as_double = draw(floats)
            else:
                dp.as_int = draw(st.integers(-(2**63), 2**63 - 1))
    elif kind == "summary":
        for _ in range(npts):
            dp = m.summary.data_points.add(
                attributes=draw(attributes()),
                start_time_unix_nano=draw(times),
                time_unix_nano=draw(times),
                count=draw(u64),
                sum=draw(floats),
            )
            for q in draw(st.lists(floats, max_size=4)):
                dp.quantile_values.add(quantile=q, value=draw(floats))
    return m


@st.composite
def otlp_requests(draw: st.DrawFn) -> ExportMetricsServiceRequest:
    req = ExportMetricsServiceRequest()
    for _ in range(draw(st.integers(0, 3))):
        rm = req.resource_metrics.add()
        if draw(st.integers(0, 5)):
            rm.resource.attributes.append(kv("service.name", draw(st.sampled_from(SERVICES))))
        for _ in range(draw(st.integers(0, 2))):
            sm = rm.scope_metrics.add()
            sm.metrics.extend(draw(st.lists(metric(), max_size=3)))
    return req
