"""Build the Go demo/test service (tui/demo/gosvc) once per source and toolchain.

The binary is cached under the XDG cache (``~/.cache/warroom/gosvc-<hash>/gosvc``), keyed by a
hash of the Go sources and their folder, the `go version` and the GOPATH, so tests and the demo pay the build
once and an edited main.go is never served stale. Each build writes a temporary name and then
renames it into place: concurrent builds (parallel test sessions, a demo started twice) never
see half a binary. Go runs in GOPATH mode against Debian's client_golang: no network, no module
proxy.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from tui.errors import UserError

SOURCE_DIR = Path(__file__).resolve().parent / "gosvc"
DEFAULT_GOPATH = "/usr/share/gocode"  # where golang-github-prometheus-client-golang-dev installs
CLIENT_GOLANG = "src/github.com/prometheus/client_golang/prometheus"
INSTALL_HINT = (
    "install golang-go golang-github-prometheus-client-golang-dev (make test / make demo do)"
)
BUILD_TIMEOUT_S = 600.0  # a cold build on a loaded 2-core machine takes about a minute


def build_gosvc(cache_root: Path | None = None) -> Path:
    """Path of a gosvc binary built from the current sources, building it if needed.

    `cache_root` defaults to ``$XDG_CACHE_HOME/warroom`` (``~/.cache/warroom``). The GOPATH holding
    client_golang is ``$WARROOM_GOPATH``, else Debian's /usr/share/gocode (a developer's own
    GOPATH usually lacks it). Raises UserError when go or client_golang is missing or the build
    fails, with what to install or the compiler's own message.
    """
    go = shutil.which("go")
    if go is None:
        raise UserError(f"gosvc: the go command is not on PATH: {INSTALL_HINT}")
    gopath = Path(os.environ.get("WARROOM_GOPATH") or DEFAULT_GOPATH)
    if not (gopath / CLIENT_GOLANG).is_dir():
        raise UserError(
            f"gosvc: client_golang is not in GOPATH {gopath} "
            f"(no {gopath / CLIENT_GOLANG}): {INSTALL_HINT}"
        )
    out_dir = (cache_root or _default_cache_root()) / f"gosvc-{_build_key(go, gopath)}"
    binary = out_dir / "gosvc"
    if binary.is_file() and os.access(binary, os.X_OK):
        return binary
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UserError(f"gosvc: cannot create the build cache {out_dir}: {err.strerror}") from None
    _go_build(go, gopath, out_dir, binary)
    return binary


def _default_cache_root() -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "warroom"


def _go_version(go: str) -> str:
    try:
        done = subprocess.run(
            [go, "version"], capture_output=True, text=True, timeout=60, check=False
        )
    except OSError as err:
        raise UserError(f"gosvc: cannot run {go}: {err.strerror}: {INSTALL_HINT}") from None
    if done.returncode != 0:
        raise UserError(f"gosvc: `{go} version` failed: {done.stderr.strip()}: {INSTALL_HINT}")
    return done.stdout.strip()


def _build_key(go: str, gopath: Path) -> str:
    """Hash of what the binary depends on: every source file and where it is (the binary
    records the paths), the toolchain, the GOPATH."""
    digest = hashlib.sha256()
    digest.update(_go_version(go).encode())
    digest.update(str(gopath).encode())
    # the binary names its source files by path (pprof -list reads them): one build per tree
    digest.update(str(SOURCE_DIR.resolve()).encode())
    for path in sorted(SOURCE_DIR.glob("*.go")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _go_build(go: str, gopath: Path, out_dir: Path, binary: Path) -> None:
    env = dict(os.environ)
    env.update(
        GOPATH=str(gopath),
        GO111MODULE="off",
        GOCACHE=str(out_dir / "gocache"),
        GOFLAGS="",
        CGO_ENABLED="0",  # no C compiler needed; the pure-Go resolver is all a loopback needs
    )
    fd, tmp_name = tempfile.mkstemp(prefix=".gosvc-build-", dir=out_dir)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        try:
            done = subprocess.run(
                [go, "build", "-o", str(tmp), "."],
                cwd=SOURCE_DIR,
                env=env,
                capture_output=True,
                text=True,
                timeout=BUILD_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise UserError(f"gosvc: go build took over {BUILD_TIMEOUT_S:.0f} s") from None
        if done.returncode != 0:
            tail = "\n".join(done.stderr.strip().splitlines()[-8:])
            raise UserError(f"gosvc: go build failed in {SOURCE_DIR}:\n{tail}\n{INSTALL_HINT}")
        os.replace(tmp, binary)
    finally:
        tmp.unlink(missing_ok=True)
