"""pprof engine: exact match with `go tool pprof -top` on every fixture, and edge cases."""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pytest

from tui.core.pprof import (
    FilterSpec,
    Profile,
    apply_filters,
    diff_profiles,
    diff_trees,
    function_table,
    load_profile,
    parse_folded,
    rank_regressions,
    to_folded,
)
from tui.core.pprof.wire import varint as _varint
from tui.errors import UserError

FIX = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "pprof"
EXPECTED = FIX / "expected"


def parse_expected(path: Path) -> tuple[int, list[tuple[str, int, int, str]], list[str]]:
    total = -1
    rows: list[tuple[str, int, int, str]] = []
    body: list[str] = []
    in_body = False
    for ln in path.read_text().splitlines():
        if in_body:
            body.append(ln)
            m = re.match(r"\s*(-?\d+)\D*\s+\S+\s+\S+\s+(-?\d+)\D*\s+\S+\s\s(.*)$", ln)
            assert m, ln
            name, inl = m.group(3), ""
            for suf in (" (inline)", " (partial-inline)"):
                if name.endswith(suf):
                    name, inl = name[: -len(suf)], suf.strip()
            rows.append((name, int(m.group(1)), int(m.group(2)), inl))
        elif ln.strip().startswith("flat"):
            in_body = True
        elif ln.startswith("Showing nodes"):
            shown = re.search(r"of (-?\d+)\D* total", ln)
            assert shown is not None, ln
            total = int(shown.group(1))
    return total, rows, body


def _cases() -> list[tuple[str, str, str | None, str | None]]:
    out: list[tuple[str, str, str | None, str | None]] = []
    for f in sorted(EXPECTED.glob("*.top.txt")):
        stem = f.name[: -len(".top.txt")]
        if stem.startswith("diff_"):
            out.append((stem, "cpu_json_gogc5.pb.gz", None, "cpu_json_gogc100.pb.gz"))
        elif stem.startswith("heap_json."):
            out.append((stem, "heap_json.pb.gz", stem.split(".", 1)[1], None))
        elif stem == "large":
            out.append((stem, "large.cpu", None, None))
        else:
            out.append((stem, f"{stem}.pb.gz", None, None))
    return out


CASES = _cases()


def test_every_expected_file_is_covered() -> None:
    assert len(CASES) == len(list(EXPECTED.glob("*.top.txt"))) >= 13


@pytest.mark.parametrize(("stem", "file", "stype", "base"), CASES, ids=[c[0] for c in CASES])
def test_top_matches_go_tool_pprof(
    stem: str, file: str, stype: str | None, base: str | None
) -> None:
    total, expected, _ = parse_expected(EXPECTED / f"{stem}.top.txt")
    prof = load_profile(FIX / file)
    if base is not None:
        prof = diff_profiles(load_profile(FIX / base), prof)
    t = prof.sample_index(stype)
    got = [(r.name, r.flat, r.cum, r.inline_label) for r in function_table(prof, t)]
    assert got == expected
    assert prof.total(t) == total


@pytest.mark.parametrize("stem", ["large", "cpu_regexp", "diff_json_gogc5_vs_gogc100"])
def test_cli_text_body_is_byte_identical(stem: str, capsys: pytest.CaptureFixture[str]) -> None:
    from tui.cli import main

    _, _, body = parse_expected(EXPECTED / f"{stem}.top.txt")
    if stem == "large":
        argv = ["profile", str(FIX / "large.cpu"), "--top"]
    elif stem.startswith("diff"):
        argv = [
            "profile",
            str(FIX / "cpu_json_gogc5.pb.gz"),
            "--base",
            str(FIX / "cpu_json_gogc100.pb.gz"),
            "--top",
        ]
    else:
        argv = ["profile", str(FIX / f"{stem}.pb.gz"), "--top"]
    # the expected files are `go tool pprof -top -nodefraction=0 -edgefraction=0 -unit=ns`
    assert main([*argv, "--edgefraction", "0", "--unit", "ns"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[3:] == body


def test_tree_totals_match_function_table_and_switch_type() -> None:
    prof = load_profile(FIX / "heap_json.pb.gz")
    tree = prof.tree
    for t in range(prof.n_types):
        tot = tree.total(t)
        assert tot[0] == prof.values[:, t].sum()
        assert tree.self_values[:, t].sum() == tot[0]
    assert prof.tree is tree  # switching type reuses the tree
    n = len(tree)
    for i in (1, n // 3, n - 1):
        assert tree.find(tree.path(i)) == i
        assert tree.end[i] > i


# ---- building adversarial profiles ---------------------------------------------------------


class PB:
    """Build profile.proto bytes by hand with the runtime schema."""

    def __init__(
        self, types: Iterable[tuple[str, str]] = (("samples", "count"), ("cpu", "nanoseconds"))
    ) -> None:
        from tui.core.pprof import schema

        self.schema = schema
        self.p = schema.Profile()
        self.strings: dict[str, int] = {}
        self.s("")
        for t, u in types:
            self.p.sample_type.add(type=self.s(t), unit=self.s(u))
        self.funcs: dict[str, int] = {}
        self.next_id = 1

    def s(self, x: str) -> int:
        if x not in self.strings:
            self.strings[x] = len(self.strings)
            self.p.string_table.append(x)
        return self.strings[x]

    def func(self, name: str, fid: int | None = None) -> int:
        if name not in self.funcs:
            fid = fid or len(self.funcs) + 1
            self.funcs[name] = fid
            self.p.function.add(
                id=fid,
                name=self.s(name),
                system_name=self.s(name),
                filename=self.s(f"{name.split('.')[0]}.go"),
            )
        return self.funcs[name]

    def loc(self, *names: str, lid: int | None = None, address: int = 0, mapping: int = 0) -> int:
        """A location whose lines are `names`, innermost first (names[1:] inline callers)."""
        lid = lid or (1000 + len(self.p.location))
        loc = self.p.location.add(id=lid, address=address, mapping_id=mapping)
        for n in names:
            loc.line.add(function_id=self.func(n), line=10)
        return lid

    def sample(
        self,
        locs: Iterable[int],
        values: Iterable[int],
        labels: Mapping[str, str] | None = None,
        nums: Mapping[str, tuple[int, str | None]] | None = None,
    ) -> None:
        smp = self.p.sample.add(location_id=list(locs), value=list(values))
        for k, v in (labels or {}).items():
            smp.label.add(key=self.s(k), str=self.s(v))
        for k, (num, u) in (nums or {}).items():
            smp.label.add(key=self.s(k), num=num, num_unit=self.s(u) if u else 0)

    def bytes(self, gz: bool = True) -> bytes:
        raw: bytes = self.p.SerializeToString()
        return gzip.compress(raw) if gz else raw


def table(prof: Profile, t: int = 1) -> dict[str, tuple[int, int, str]]:
    return {r.name: (r.flat, r.cum, r.inline_label) for r in function_table(prof, t)}


def test_recursion_counts_cum_once() -> None:
    b = PB()
    a1, b1, a2, b2 = b.loc("a"), b.loc("b"), b.loc("a"), b.loc("b")
    b.sample([b2, a2, b1, a1], [1, 10])  # a -> b -> a -> b (leaf first in the proto)
    b.sample([a1], [1, 5])
    prof = load_profile(b.bytes())
    assert table(prof) == {"b": (10, 10, ""), "a": (5, 15, "")}
    assert prof.tree.total(1)[0] == 15


def test_inlined_frames_and_partial_inline_marker() -> None:
    b = PB()
    inl = b.loc("leaf", "mid", "main")  # leaf and mid inlined into main
    direct = b.loc("mid")
    root = b.loc("top")
    b.sample([inl, root], [1, 7])
    b.sample([direct, root], [1, 3])
    prof = load_profile(b.bytes())
    t = table(prof)
    assert t["leaf"] == (7, 7, "(inline)")
    assert t["mid"] == (3, 10, "(partial-inline)")
    assert t["main"] == (0, 7, "")
    names = {
        prof.frames.name(i): prof.frames.inline(i)
        for i in range(len(prof.frames))
        if prof.frames.name(i) == "leaf"
    }
    assert names == {"leaf": True}


def test_zero_samples_create_no_nodes_and_negative_values_use_abs_total() -> None:
    b = PB()
    x, y, z = b.loc("x"), b.loc("y"), b.loc("z")
    b.sample([x, z], [1, 0])
    b.sample([y, z], [1, -4])
    b.sample([z], [1, 6])
    prof = load_profile(b.bytes())
    assert table(prof) == {"y": (-4, -4, ""), "z": (6, 2, "")}
    assert prof.total(1) == 10
    # pprof merges samples of one stack before summing |v|: +5 and -3 count 2
    b2 = PB()
    x2, z2 = b2.loc("x"), b2.loc("z")
    b2.sample([x2, z2], [1, 5])
    b2.sample([x2, z2], [1, -3])
    b2.sample([z2], [1, 4])
    merged = load_profile(b2.bytes())
    assert merged.total(1) == 6  # go tool pprof -top: "100% of 6ns total"
    assert table(merged) == {"z": (4, 6, ""), "x": (2, 2, "")}


def test_huge_ids_non_dense_mapping_zero_and_address_only() -> None:
    b = PB()
    big = 2**63 + 12345
    f = b.loc("main", lid=big)
    addr = b.p.location.add(id=7, address=0x4011AB, mapping_id=0).id
    b.p.mapping.add(id=2**40, filename=b.s("/usr/bin/app"))
    b.func("main.helper", fid=2**62)
    g = b.loc("main.helper", lid=3, mapping=2**40)
    b.sample([addr, g, f], [1, 5])
    prof = load_profile(b.bytes(gz=False))
    t = table(prof)
    assert t["00000000004011ab"] == (5, 5, "")
    assert t["main.helper"] == (0, 5, "")


def test_default_sample_type_else_last_and_period_duration_comments() -> None:
    b = PB(types=(("alloc_objects", "count"), ("alloc_space", "bytes"), ("inuse", "bytes")))
    b.sample([b.loc("m")], [1, 2, 3])
    assert load_profile(b.bytes()).default_index == 2
    b.p.default_sample_type = b.s("alloc_space")
    b.p.period, b.p.duration_nanos = 512, 10**9
    b.p.comment.append(b.s("hello"))
    prof = load_profile(b.bytes())
    assert prof.default_index == 1
    assert (prof.period, prof.duration_nanos, prof.comments) == (512, 10**9, ["hello"])


def test_unpacked_encoding_is_accepted() -> None:
    from tui.core.pprof import schema

    b = PB()
    m = b.loc("m")
    b.sample([m], [1, 9])
    raw = bytearray(b.bytes(gz=False))
    # rebuild the sample by hand in unpacked form: field 1 varint, field 2 varint x2
    body = bytes([0x08]) + _varint(m) + bytes([0x10, 0x01, 0x10, 0x09])
    prof_msg = schema.Profile.FromString(bytes(raw))
    del prof_msg.sample[:]
    out = prof_msg.SerializeToString() + b"\x12" + _varint(len(body)) + body
    prof = load_profile(out)
    assert table(prof) == {"m": (9, 9, "")}


def test_labels_tagfocus_numeric_ranges_and_strings() -> None:
    b = PB(types=(("alloc_space", "bytes"),))
    m = b.loc("m")
    b.sample([b.loc("small"), m], [100], labels={"route": "/a"}, nums={"bytes": (1024, "bytes")})
    b.sample([b.loc("mid"), m], [200], labels={"route": "/b"}, nums={"bytes": (100 * 1024, "")})
    b.sample([b.loc("big"), m], [400], nums={"bytes": (4 * 1024 * 1024, "bytes")})
    prof = load_profile(b.bytes())
    assert set(table(apply_filters(prof, FilterSpec(tagfocus="64kb:1mb")), 0)) == {"mid", "m"}
    assert set(table(apply_filters(prof, FilterSpec(tagfocus="4mb:")), 0)) == {"big", "m"}
    assert set(table(apply_filters(prof, FilterSpec(tagignore=":2kb")), 0)) == {"mid", "big", "m"}
    assert set(table(apply_filters(prof, FilterSpec(tagfocus="route=/b")), 0)) == {"mid", "m"}
    assert set(table(apply_filters(prof, FilterSpec(tagfocus="route:/a")), 0)) == {"small", "m"}


def _chain(b: PB, names: str) -> list[int]:
    return [b.loc(n) for n in reversed(names.split(";"))]  # leaf first


def test_name_filters_have_pprof_meaning() -> None:
    b = PB()
    b.sample(_chain(b, "main;http.serve;json.encode;mallocgc"), [1, 10])
    b.sample(_chain(b, "main;db.query;mallocgc"), [1, 20])
    b.sample(_chain(b, "main;gc.worker"), [1, 5])
    prof = load_profile(b.bytes())
    assert table(apply_filters(prof, FilterSpec(focus="json")))["main"] == (0, 10, "")
    assert table(apply_filters(prof, FilterSpec(ignore="json")))["main"] == (0, 25, "")
    hidden = table(apply_filters(prof, FilterSpec(hide="mallocgc")))
    assert "mallocgc" not in hidden and hidden["json.encode"] == (10, 10, "")
    shown = table(apply_filters(prof, FilterSpec(show="main|mallocgc")))
    assert shown == {"mallocgc": (30, 30, ""), "main": (5, 35, "")}
    sf = table(apply_filters(prof, FilterSpec(show_from="http")))
    assert "main" not in sf and sf["http.serve"] == (0, 10, "") and len(sf) == 3
    pf = table(apply_filters(prof, FilterSpec(prune_from="json")))
    assert "mallocgc" in pf and pf["json.encode"] == (10, 10, "")
    assert pf["mallocgc"] == (20, 20, "")


def test_drop_frames_prunes_from_the_root() -> None:
    b = PB()
    b.sample(_chain(b, "main;work;runtime.mallocgc;runtime.nextFree"), [1, 4])
    b.p.drop_frames = b.s("runtime\\..*")
    prof = load_profile(b.bytes())
    assert table(prof) == {"work": (4, 4, ""), "main": (0, 4, "")}


def test_folded_round_trip() -> None:
    text = "main;a;b 5\nmain;a 2\nmain;c 3\n"
    prof = parse_folded(text)
    assert to_folded(prof) == "main;a 2\nmain;a;b 5\nmain;c 3\n"  # sorted
    assert table(prof, 0) == {
        "b": (5, 5, ""),
        "main": (0, 10, ""),
        "a": (2, 7, ""),
        "c": (3, 3, ""),
    }
    # folded text is also accepted by load_profile
    assert to_folded(load_profile(text.encode())) == to_folded(prof)
    with pytest.raises(UserError, match=r"x.txt:2: value"):
        parse_folded("a;b 1\na;b x\n", "x.txt")


def test_folded_out_of_a_real_profile_keeps_totals() -> None:
    prof = load_profile(FIX / "cpu_regexp.pb.gz")
    back = parse_folded(to_folded(prof, 1))
    assert back.values.sum() == prof.values[:, 1].sum()
    exp = {r.name: r.cum for r in function_table(prof, 1)}
    got = {r.name: r.cum for r in function_table(back, 0)}
    assert got == exp


# ---- diff and regressions ------------------------------------------------------------------


def test_diff_tree_union_and_status() -> None:
    base = load_profile(FIX / "cpu_json_gogc100.pb.gz")
    cur = load_profile(FIX / "cpu_json_gogc5.pb.gz")
    dt = diff_trees(base, cur, 1)
    assert dt.base_total[0] == base.values[:, 1].sum()
    assert dt.cur_total[0] == cur.values[:, 1].sum()
    assert {dt.status_name(i) for i in range(len(dt))} == {"both", "new", "vanished"}
    # every path of each tree exists in the merged tree with the same totals
    bt = base.tree
    for i in range(1, len(bt), 97):
        names = [bt.frames.name(f) for f in bt.path(i)]
        key = [
            dt.frames.find(n, bt.frames.file(f), bt.frames.inline(f))
            for n, f in zip(names, bt.path(i), strict=True)
        ]
        j = dt.find(tuple(k for k in key if k is not None))
        assert j is not None and dt.base_total[j] == bt.total(1)[i]
    norm = diff_trees(base, cur, 1, normalize=True)
    assert abs(int(norm.cur_total[0]) - int(norm.base_total[0])) <= len(cur.row_stack)


def test_regression_ranking_finds_gc_regression_and_ignores_self_diff() -> None:
    base = load_profile(FIX / "cpu_json_gogc100.pb.gz")
    cur = load_profile(FIX / "cpu_json_gogc5.pb.gz")
    rep = rank_regressions(base, cur, 1)
    names = [r.name for r in rep.regressions(5.0)]
    assert "encoding/json.structEncoder.encode" in names
    assert rep.count_type == "samples"
    same = rank_regressions(base, base, 1)
    assert same.regressions(0.0) == [] and not same.new and not same.vanished


# ---- bad input -----------------------------------------------------------------------------


def test_bad_inputs_name_the_file(tmp_path: Path) -> None:
    good = (FIX / "cpu_regexp.pb.gz").read_bytes()
    cases = {
        "trunc.pb.gz": (good[: len(good) // 2], "truncated gzip"),
        "corrupt.pb.gz": (good[:20] + bytes(200) + good[220:], "corrupt gzip"),
        "concat.pb.gz": (good + good, "concatenated profiles"),
        "garbage.bin": (b"\xff\xfe\x00\x01garbage" * 10, "not a pprof profile"),
        "empty.pb": (b"", "empty file"),
    }
    for name, (data, msg) in cases.items():
        f = tmp_path / name
        f.write_bytes(data)
        with pytest.raises(UserError, match=msg) as exc:
            load_profile(f)
        assert str(exc.value).startswith(str(f))
    with pytest.raises(UserError, match="no such file"):
        load_profile(tmp_path / "missing.pb.gz")


def test_dangling_location_id_is_a_user_error() -> None:
    b = PB()
    b.sample([b.loc("m"), 999], [1, 1])
    with pytest.raises(UserError, match="unknown location id 999"):
        load_profile(b.bytes(), name="x.pb.gz")


def test_tree_arrays_shape() -> None:
    prof = load_profile(FIX / "block_contention.pb.gz")
    tr = prof.tree
    assert tr.frame.dtype == np.int32 and tr.parent[0] == -1 and tr.frame[0] == -1
    assert tr.self_values.shape == (len(tr), 2)


# ---- encodings the fast path must not get wrong --------------------------------------------


def _sample_bytes(locs: list[int], vals: list[int], packed: bool, labels: bytes = b"") -> bytes:
    if packed:
        body = b"".join(_varint(x) for x in locs)
        loc_part = b"\x0a" + _varint(len(body)) + body if locs else b""
    else:
        loc_part = b"".join(b"\x08" + _varint(x) for x in locs)
    val_part = b"".join(b"\x10" + _varint(v) for v in vals)
    return loc_part + val_part + labels


def _with_samples(b: PB, samples: list[bytes]) -> bytes:
    from tui.core.pprof import schema

    msg = schema.Profile.FromString(b.bytes(gz=False))
    del msg.sample[:]
    out: bytes = msg.SerializeToString()
    for sb in samples:
        out += b"\x12" + _varint(len(sb)) + sb
    return out


@pytest.mark.parametrize("mode", ["packed", "unpacked", "mixed", "two-runs"])
def test_location_encodings_all_decode_alike(mode: str) -> None:
    b = PB()
    a, c, d = b.loc("a"), b.loc("c"), b.loc("d")
    stacks = [[d, c, a], [c, a], [a], [], [d, a]]
    samples = []
    for i, st in enumerate(stacks):
        vals = [1, 10 * (i + 1)]
        if mode == "packed" or (mode == "mixed" and i % 2 == 0):
            samples.append(_sample_bytes(st, vals, packed=True))
        elif mode == "two-runs" and len(st) > 1:
            first = _sample_bytes(st[:1], [], packed=True)
            samples.append(first + _sample_bytes(st[1:], vals, packed=True))
        elif mode == "mixed" and len(st) > 1:
            # one sample holding both a packed run and unpacked ids
            samples.append(
                _sample_bytes(st[:1], [], packed=True) + _sample_bytes(st[1:], vals, packed=False)
            )
        else:
            samples.append(_sample_bytes(st, vals, packed=False))
    prof = load_profile(_with_samples(b, samples))
    assert table(prof) == {"d": (60, 60, ""), "c": (20, 30, ""), "a": (30, 110, "")}
    assert prof.total(1) == 150


def test_many_labels_and_label_order() -> None:
    b = PB(types=(("alloc_space", "bytes"),))
    m = b.loc("m")
    for i in range(50):
        b.sample(
            [b.loc(f"f{i % 7}"), m],
            [i + 1],
            labels={"k": f"v{i % 3}", "z": "same"},
            nums={"bytes": (1 << (i % 5), "bytes")},
        )
    prof = load_profile(b.bytes())
    assert len(prof.labelsets) == 1 + len({(i % 3, i % 5) for i in range(50)})
    seen = {
        (dict(ls.str_labels)["k"][0], ls.num_labels[0][1][0][0]) for ls in list(prof.labelsets)[1:]
    }
    assert seen == {(f"v{i % 3}", 1 << (i % 5)) for i in range(50)}
    assert table(apply_filters(prof, FilterSpec(tagfocus="k=v1")), 0)["m"][1] == sum(
        i + 1 for i in range(50) if i % 3 == 1
    )


def test_filtered_diff_keeps_base_unfiltered_total() -> None:
    base = load_profile(FIX / "cpu_json_gogc100.pb.gz")
    cur = load_profile(FIX / "cpu_json_gogc5.pb.gz")
    merged_then_filtered = apply_filters(diff_profiles(base, cur), FilterSpec(focus="json"))
    filtered_then_merged = diff_profiles(
        apply_filters(base, FilterSpec(focus="json")), apply_filters(cur, FilterSpec(focus="json"))
    )
    assert merged_then_filtered.total(1) == filtered_then_merged.total(1) == 15970000000
    a = [(r.name, r.flat, r.cum) for r in function_table(merged_then_filtered, 1)]
    b = [(r.name, r.flat, r.cum) for r in function_table(filtered_then_merged, 1)]
    assert a == b


# ---- FilterSpec ----------------------------------------------------------------------------


def test_filter_spec_is_a_value_and_checks_every_filter() -> None:
    spec = FilterSpec(focus="json", tagfocus="bytes=64kb:")
    assert spec == FilterSpec(focus="json", tagfocus="bytes=64kb:")
    assert hash(spec) == hash(FilterSpec(focus="json", tagfocus="bytes=64kb:"))
    assert list(spec.items()) == [("focus", "json"), ("tagfocus", "bytes=64kb:")]
    assert FilterSpec().is_empty() and FilterSpec(hide="").is_empty()
    assert not spec.is_empty()
    spec.check()
    with pytest.raises(UserError, match=r"--show-from: bad regular expression '\('"):
        FilterSpec(show_from="(").check()
    with pytest.raises(UserError, match="--tagignore: bad regular expression"):
        FilterSpec(tagignore="k=(").check()
    prof = load_profile(FIX / "cpu_regexp.pb.gz")
    assert apply_filters(prof, FilterSpec()) is prof
    assert apply_filters(prof) is prof
    with pytest.raises(UserError, match="--focus: bad regular expression"):
        apply_filters(prof, FilterSpec(focus="[x"))


def test_filter_spec_from_lists_ors_regexes_and_keeps_the_last_tag_filter() -> None:
    spec = FilterSpec.from_lists(
        {"focus": ["onepass", "backtrack"], "hide": [], "tagfocus": ["a=1", "b=2"]}
    )
    assert spec == FilterSpec(focus="(?:onepass)|(?:backtrack)", tagfocus="b=2")
    assert FilterSpec.from_lists({"show": ["x"]}) == FilterSpec(show="x")
    with pytest.raises(ValueError, match="unknown filter"):
        FilterSpec.from_lists({"sample_index": ["1"]})
    prof = load_profile(FIX / "cpu_regexp.pb.gz")
    both = table(apply_filters(prof, spec.__class__(focus=spec.focus)), 1)
    one = table(apply_filters(prof, FilterSpec(focus="onepass")), 1)
    two = table(apply_filters(prof, FilterSpec(focus="backtrack")), 1)
    assert set(one) | set(two) <= set(both) and one != both


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"main;foo 99999999999999999999999\n", "x:1: value 99999999999999999999999 does not fit"),
        (b"main;a 9223372036854775807\nmain;b 1\n", "x:2: the values add up past 64 bits"),
        # bad UTF-8 past the 4 KiB the format sniffer reads
        (b"main;a 3\n" * 600 + b"main;c\xff\xfe 5\n", "x:601: not UTF-8 text (byte 0xff"),
    ],
)
def test_hostile_folded_text_is_one_clear_error(data: bytes, message: str) -> None:
    from tui.core.pprof.load import decode_bytes

    with pytest.raises(UserError) as exc:
        decode_bytes(data, "x")
    assert str(exc.value).startswith(message)


def test_gzip_bomb_stops_at_the_inflation_cap() -> None:
    import gzip

    from tui.core.pprof.load import gunzip_single
    from tui.core.pprof.wire import varint as _varint

    # starts like a profile (a string-table entry of 8 MiB), so only the cap stops it
    body = b"\x32" + _varint(8 * 2**20) + b"\0" * (8 * 2**20)
    bomb = gzip.compress(body)
    with pytest.raises(UserError) as exc:
        gunzip_single(bomb, "bomb.pb.gz", max_inflated=2**20)
    assert str(exc.value) == (
        "bomb.pb.gz: inflates past 1 MiB, the limit for one profile (a gzip bomb?); "
        "`warroom profile --max-inflated SIZE` reads larger ones"
    )
    assert gunzip_single(bomb, "ok.pb.gz", max_inflated=9 * 2**20) == body
    # zeros are no protobuf: refused from the first slice, without inflating the rest
    with pytest.raises(UserError, match=r"not a pprof profile \(gzip holds no protobuf"):
        gunzip_single(gzip.compress(b"\0" * (8 * 2**20)), "zeros.pb.gz")
