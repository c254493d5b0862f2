"""The YAML reader of the config: a node tree -> the schema's dataclasses, by their type hints.

Every error names the file, the line and the dotted key (`FILE:LINE: key.path: why`), and an
unknown key gets the closest valid one. A value that cannot be read is reported and the walk
goes on, so a file's mistakes come out all at once (ConfigErrors), like a compiler's; a check
that only fails because of another mistake is not run. A schema class reports its own
problems from `_problems(failed)` (see `refuse`), where `failed` names the keys that could not
be read.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import os
import types
from pathlib import Path
from typing import Any, Literal, TypeVar, Union, cast, get_args, get_origin, get_type_hints

import yaml

from tui.config_values import (
    Duration,
    Latency,
    Secret,
    Size,
    parse_duration,
    parse_size,
    with_unit,
)
from tui.errors import UserError

T = TypeVar("T")


class ConfigError(UserError):
    """A config mistake, located: `FILE:LINE: key.path: message`."""

    def __init__(self, message: str, line: int = 0):
        super().__init__(message)
        self.line = line  # 1-based line in the file; 0 when it has none (sorting)
        self.problems = [message]


class ConfigErrors(ConfigError):
    """Every mistake of one file, in file order, like a compiler: one line each, then
    `N errors in FILE`. The CLI prints a UserError as `warroom: MESSAGE`, so every line after the
    first carries that prefix here and each line reads like the one-error case."""

    def __init__(self, file: str, errors: list[ConfigError]):
        problems = [p for e in errors for p in e.problems]
        UserError.__init__(
            self, "\nwarroom: ".join([*problems, f"{len(problems)} errors in {file}"])
        )
        self.line = errors[0].line
        self.problems = problems


class Invalid(ValueError):
    """Every problem a schema class found in its own values, each `key.path: message`."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def refuse(problems: list[str]) -> None:
    """A schema class's __post_init__: every problem at once (the reader locates each one;
    code that builds the class directly gets one ValueError naming them all)."""
    if problems:
        raise Invalid(problems)


class _Loc:
    """Where a value is (file, node, dotted key) and the list every error of the file goes to.

    A bad value is reported and the walk goes on, so one run names every mistake: a scalar that
    cannot be read raises ConfigError to its mapping or list, which records it; a list or
    mapping with a bad item raises _Reported (already recorded) the same way."""

    def __init__(
        self,
        file: str,
        node: yaml.Node | None,
        path: str,
        errors: list[ConfigError] | None = None,
    ):
        self.file, self.node, self.path = file, node, path
        self.errors: list[ConfigError] = [] if errors is None else errors

    def at(self, node: yaml.Node | None, path: str) -> _Loc:
        return _Loc(self.file, node, path, self.errors)

    def error(self, message: str, node: yaml.Node | None = None) -> ConfigError:
        n = node or self.node
        line = f":{n.start_mark.line + 1}" if n is not None else ""
        where = f" {self.path}:" if self.path else ""
        return ConfigError(
            f"{self.file}{line}:{where} {message}", n.start_mark.line + 1 if n is not None else 0
        )


class _Reported(Exception):
    """A value that cannot be used; its errors are in the file's list already."""


def _describe(tp: Any) -> str:
    if tp is Latency:
        return "a duration like 250ms or 1.5s"
    if tp is Duration:
        return "a duration like 5s or 15m"
    if tp is Size:
        return "a size like 64MiB"
    if tp is Secret:
        return "a secret as {env: NAME} or {file: PATH}"
    if dataclasses.is_dataclass(tp):
        return "a mapping"
    origin = get_origin(tp)
    if origin is list:
        return "a list"
    if origin is dict:
        return "a mapping"
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(tp))
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false"}.get(
        tp, str(tp)
    )


def _fits_shape(node: yaml.Node, tp: Any) -> bool:
    """Whether `node` is the kind of YAML node (mapping, list, scalar) that `tp` reads."""
    if tp is Secret or dataclasses.is_dataclass(tp) or get_origin(tp) is dict:
        return isinstance(node, yaml.MappingNode)
    if get_origin(tp) is list:
        return isinstance(node, yaml.SequenceNode)
    return isinstance(node, yaml.ScalarNode)


_NULL_TAG = "tag:yaml.org,2002:null"


def _plain(node: yaml.Node) -> Any:
    """The Python value of a node, built directly (serialize + load fails on an empty scalar)."""
    return yaml.constructor.SafeConstructor().construct_document(node)


def _convert(node: yaml.Node, tp: Any, loc: _Loc) -> Any:
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        return _convert_union(node, tp, loc)
    if tp is Any:
        return _plain(node)
    if (
        isinstance(node, yaml.ScalarNode)
        and node.tag == _NULL_TAG
        and not (
            dataclasses.is_dataclass(tp)  # `tls:` alone is an empty mapping: all defaults
        )
    ):
        got = "nothing" if node.value in ("", "~") else repr(node.value)
        raise loc.error(f"expected {_describe(tp)}, got {got}")
    if dataclasses.is_dataclass(tp):
        return _convert_dataclass(node, tp, loc)
    if tp is Secret:
        return _convert_secret(node, loc)
    if origin is list:
        if not isinstance(node, yaml.SequenceNode):
            raise loc.error(f"expected {_describe(tp)}")
        (item_tp,) = get_args(tp)
        items = [(item, loc.at(item, f"{loc.path}[{i}]")) for i, item in enumerate(node.value)]
        return _convert_all(items, item_tp, loc)
    if origin is dict:
        return _convert_dict(node, tp, loc)
    return _convert_scalar(node, tp, loc)


def _convert_union(node: yaml.Node, tp: Any, loc: _Loc) -> Any:
    """The first option of `X | Y | None` that reads the node; null is None when allowed. When
    only one option fits the node's shape, its errors are the ones reported."""
    options = [a for a in get_args(tp) if a is not type(None)]
    is_null = isinstance(node, yaml.ScalarNode) and node.tag == _NULL_TAG
    if is_null and type(None) in get_args(tp):
        return None
    if len(options) == 1:
        return _convert(node, options[0], loc)
    shaped: list[list[ConfigError]] = []  # errors from options the node's shape fits
    for opt in options:
        trial = _Loc(loc.file, loc.node, loc.path)  # its own list: a failed try is no error
        try:
            value = _convert(node, opt, trial)
        except (ConfigError, _Reported) as exc:
            if _fits_shape(node, opt):
                shaped.append(trial.errors + ([exc] if isinstance(exc, ConfigError) else []))
            continue
        loc.errors.extend(trial.errors)
        return value
    if len(shaped) == 1:  # e.g. "{env: TOKEN}: environment variable TOKEN is not set"
        loc.errors.extend(shaped[0])
        raise _Reported
    raise loc.error("expected " + " or ".join(_describe(o) for o in options))


def _convert_dict(node: yaml.Node, tp: Any, loc: _Loc) -> Any:
    """A `dict[str, T]` from a mapping; a key given twice is an error (YAML keeps the last)."""
    if not isinstance(node, yaml.MappingNode):
        raise loc.error(f"expected {_describe(tp)}")
    _, val_tp = get_args(tp)
    keys, entries, twice = [], [], False
    for knode, vnode in node.value:
        key = str(knode.value)
        if key in keys:  # YAML keeps the last one: an action or header would be lost
            loc.errors.append(loc.at(knode, f"{loc.path}.{key}").error("key given twice"))
            twice = True
            continue
        keys.append(key)
        entries.append((vnode, loc.at(vnode, f"{loc.path}.{key}")))
    out = dict(zip(keys, _convert_all(entries, val_tp, loc), strict=True))
    if twice:
        raise _Reported
    return out


def _convert_scalar(node: yaml.Node, tp: Any, loc: _Loc) -> Any:
    """A literal, duration, size, bool, number or string from a scalar, checked as written."""
    if not isinstance(node, yaml.ScalarNode):
        raise loc.error(f"expected {_describe(tp)}")
    origin = get_origin(tp)
    raw = node.value
    value = _plain(node)
    try:
        if origin is Literal:
            if raw not in get_args(tp):
                close = difflib.get_close_matches(raw, [str(a) for a in get_args(tp)], 1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise ValueError(f"{raw!r} is not {_describe(tp)}{hint}")
            return raw
        if tp is Duration or tp is Latency:
            return tp(parse_duration(with_unit(value, raw, latency=tp is Latency)))
        if tp is Size:
            return parse_size(value if isinstance(value, int) else raw)
        if tp is bool:
            if not isinstance(value, bool):
                raise ValueError(f"expected true or false, got {raw!r}")
            return value
        if tp is int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"expected an integer, got {raw!r}")
            return value
        if tp is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"expected a number, got {raw!r}")
            return float(value)
        if tp is str:
            if value is None:
                raise ValueError("expected a string, got nothing")
            return raw  # the text as written: `version: 1.10` stays "1.10"
    except ValueError as exc:
        raise loc.error(str(exc)) from None
    raise loc.error(f"unsupported type {tp!r}")


def _convert_all(items: list[tuple[yaml.Node, _Loc]], tp: Any, loc: _Loc) -> list[Any]:
    """Every item of a list or mapping read as `tp`, each bad one reported; _Reported if any."""
    out, bad = [], False
    for node, at in items:
        try:
            out.append(_convert(node, tp, at))
        except ConfigError as exc:
            loc.errors.append(exc)
            bad = True
        except _Reported:
            bad = True
    if bad:
        raise _Reported
    return out


def _convert_secret(node: yaml.Node, loc: _Loc) -> Secret:
    if not isinstance(node, yaml.MappingNode) or len(node.value) != 1:
        raise loc.error(
            "secrets are not written in the config: use {env: VARIABLE} or {file: PATH}"
        )
    knode, vnode = node.value[0]
    kind, ref = str(knode.value), str(vnode.value)
    if kind in ("env", "file") and (not isinstance(vnode, yaml.ScalarNode) or not ref.strip()):
        what = "an environment variable name" if kind == "env" else "a file path"
        raise loc.error(f"{{{kind}: ...}} needs {what}, got nothing")
    if kind == "env":
        if ref not in os.environ:
            raise loc.error(f"environment variable {ref} is not set")
        return Secret(os.environ[ref], f"env {ref}")
    if kind == "file":
        path = Path(ref).expanduser()
        if not path.is_absolute():
            path = Path(loc.file).parent / path
        try:
            return Secret(path.read_text().strip(), f"file {path}")
        except OSError as exc:
            raise loc.error(f"cannot read secret file {path}: {exc.strerror}") from None
    raise loc.error(f"unknown secret source {kind!r}: use env or file")


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    """The field types of a schema class (evaluating its string annotations is slow)."""
    return get_type_hints(cls)


def _convert_dataclass(node: yaml.Node, cls: Any, loc: _Loc) -> Any:
    """The dataclass `cls` read from a mapping. A key that cannot be read is reported and left
    at its default, so the class's own checks still look at the others; the object is then
    incomplete, but the file's errors are raised before anyone can use it."""
    if isinstance(node, yaml.ScalarNode) and node.tag == _NULL_TAG:
        node = yaml.MappingNode("tag:yaml.org,2002:map", [], node.start_mark, node.end_mark)
    if not isinstance(node, yaml.MappingNode):
        raise loc.error("expected a mapping")
    hints = _hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if not f.metadata.get("internal")}
    kwargs: dict[str, Any] = {}
    failed: set[str] = set()
    suggested: set[str] = set()  # `latency_histgram` is not also a missing `latency_histogram`
    for knode, vnode in node.value:
        key = str(knode.value)
        sub = f"{loc.path}.{key}" if loc.path else key
        if key not in fields:
            close = difflib.get_close_matches(key, list(fields), 1, 0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            valid = "" if close else f" (valid keys: {', '.join(fields)})"
            suggested.update(close)
            loc.errors.append(loc.at(knode, sub).error(f"unknown key{hint}{valid}"))
            continue
        if key in kwargs or key in failed:
            loc.errors.append(loc.at(knode, sub).error("key given twice"))
            continue
        try:
            kwargs[key] = _convert(vnode, hints[key], loc.at(vnode, sub))
        except ConfigError as exc:
            loc.errors.append(exc)
            failed.add(key)
        except _Reported:
            failed.add(key)
    required = {
        name
        for name, f in fields.items()
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    }
    for name in sorted(required - kwargs.keys() - failed - suggested, key=list(fields).index):
        loc.errors.append(loc.error(f"missing required key {name!r}"))
    if failed or required - kwargs.keys():
        return _incomplete(cls, kwargs, failed, required, node, loc)
    try:
        return cls(**kwargs)
    except Invalid as exc:
        problems = exc.problems
    except ValueError as exc:
        problems = [str(exc)]
    for problem in problems:
        loc.errors.append(_locate(problem, node, loc))
    return _incomplete(cls, kwargs, set(), required, node, loc, check=False)


def _incomplete(
    cls: Any,
    kwargs: dict[str, Any],
    failed: set[str],
    required: set[str],
    node: yaml.MappingNode,
    loc: _Loc,
    check: bool = True,
) -> Any:
    """`cls` with the values that were read and defaults for the rest, built without its
    __post_init__; its own checks run on what was read (with a required key missing, none:
    they would look at a None). A key that failed is left out of the checks' findings."""
    obj = cls.__new__(cls)
    for f in dataclasses.fields(cls):
        if f.name in kwargs:
            value = kwargs[f.name]
        elif f.default_factory is not dataclasses.MISSING:
            value = f.default_factory()
        else:
            value = None if f.default is dataclasses.MISSING else f.default
        setattr(obj, f.name, value)
    if check and not required - kwargs.keys() and hasattr(obj, "_problems"):
        for problem in obj._problems(frozenset(failed)):
            if problem.partition(": ")[0].split(".")[0].split("[")[0] not in failed:
                loc.errors.append(_locate(problem, node, loc))
    return obj


def _locate(problem: str, node: yaml.MappingNode, loc: _Loc) -> ConfigError:
    """A schema check's "key: message" at that key's own line when it was given;
    "key.sub: message" at the line of `sub` inside that key's mapping, and
    "key[2].sub: message" inside the third item of that key's list; else at the mapping."""
    dotted, sep, rest = problem.partition(": ")
    at: yaml.Node | None = None
    sub: str = loc.path
    here: yaml.Node = node
    for part in dotted.split(".") if sep else []:
        name, _, index = part.partition("[")
        if not isinstance(here, yaml.MappingNode):
            break
        pair = next(((k, v) for k, v in here.value if str(k.value) == name), None)
        if pair is None:
            break
        at, here = pair
        sub = f"{sub}.{name}" if sub else name
        if index:
            i = int(index.rstrip("]"))
            if not isinstance(here, yaml.SequenceNode) or i >= len(here.value):
                break
            at = here = here.value[i]
            sub = f"{sub}[{i}]"
    if at is not None:
        return loc.at(at, sub).error(rest)
    return loc.error(problem)


def compose(text: str, file: str) -> yaml.Node | None:
    """The YAML node tree of `text` (None for an empty document); ConfigError when not YAML."""
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = f":{mark.line + 1}" if mark else ""
        raise ConfigError(f"{file}{line}: not valid YAML: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{file}: not valid YAML: {exc}") from None


def read_dataclass(root: yaml.Node, cls: type[T], file: str, errors: list[ConfigError]) -> T:
    """`cls` read from `root`; every mistake is added to `errors`, and with any there the
    object may be incomplete: raise them (raise_errors) before it is used. A root that is not
    a mapping is the one error: ConfigError, raised."""
    return cast(T, _convert_dataclass(root, cls, _Loc(file, root, "", errors)))


def located(file: str, node: yaml.Node, path: str, message: str) -> ConfigError:
    """An error at `node`'s line, for a check made outside the schema classes."""
    return _Loc(file, node, path).error(message)


def raise_errors(file: str, errors: list[ConfigError]) -> None:
    """Nothing with no errors; one as itself (one line); several in file order."""
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise ConfigErrors(file, sorted(errors, key=lambda e: e.line))
