"""Project-wide fixtures. Each area keeps its fixtures in tests/fixtures/<area>.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import settings

# No per-example deadline for property tests: a timing limit makes each of
# them a timed test, and on a loaded 2-core machine the first example of
# test_export_media's resolve property took 465 ms against the default 200
# (a FlakyFailure in the suite). Speed is measured in bench/, not here.
settings.register_profile("telewatch", deadline=None)
settings.load_profile("telewatch")

pytest_plugins = [
    "tests.fixtures.store",
    "tests.fixtures.emulator",
    "tests.fixtures.daemon",
    "tests.fixtures.dashboard",
    "tests.fixtures.xref",
    "tests.fixtures.tsa",
    "tests.fixtures.socks",
    "tests.fixtures.venv",
    "tests.fixtures.media",
    "tests.fixtures.postgres",
]

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"
XREF_DEV = SHARED_DATA / "xref-dev"


@pytest.fixture(scope="session")
def xref_dev() -> Path:
    """The development data set (../shared/data/xref-dev beside the checkout).

    A fresh clone has no ../shared: the tests that need the data are skipped,
    each saying where the data should be (`-ra` lists them at the end), and
    every other test still runs; CI lays shared/ beside the checkout."""
    if not XREF_DEV.is_dir():
        pytest.skip(
            f"development data not found at {XREF_DEV}: put the project's shared/data "
            "beside the checkout to run this test"
        )
    return XREF_DEV
