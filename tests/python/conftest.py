import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def cli() -> Path:
    """The `baton` binary to compare against: $BATON_CLI, else one the Rust build left in target/."""
    given = os.environ.get("BATON_CLI")
    if given:
        path = Path(given)
        assert path.is_file(), f"BATON_CLI={given} does not exist"
        return path
    for profile in ("release", "debug"):
        path = ROOT / "target" / profile / "baton"
        if path.is_file():
            return path
    pytest.fail("no baton binary: build it (cargo build) or set BATON_CLI")
