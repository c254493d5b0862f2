"""Shared fixtures. Fixtures that start real servers live in tests/servers.py helpers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Fuzz tests (marked `fuzz`) run a quick profile in `make test` and the long one in
# `make fuzz` (WARROOM_FUZZ=long): the same properties, many more cases. A test sizes its
# own loops (e.g. kill -9 trials) with `fuzz_cases(quick, long)`.
FUZZ_LONG = os.environ.get("WARROOM_FUZZ") == "long"
settings.register_profile(
    "fuzz-quick", max_examples=300, deadline=None, suppress_health_check=list(HealthCheck)
)
settings.register_profile(
    "fuzz-long", max_examples=100_000, deadline=None, suppress_health_check=list(HealthCheck)
)
FUZZ_SETTINGS = settings.get_profile("fuzz-long" if FUZZ_LONG else "fuzz-quick")


def fuzz_cases(quick: int, long: int) -> int:
    """How many trials a hand-written fuzz loop runs under the current profile."""
    return long if FUZZ_LONG else quick


ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
FIXTURES = SHARED / "fixtures"


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    if not FIXTURES.is_dir():
        pytest.fail(f"shared fixtures not found at {FIXTURES}: clone beside ../shared")
    return FIXTURES
