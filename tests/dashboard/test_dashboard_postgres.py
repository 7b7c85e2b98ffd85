"""The dashboard's feed queries and its screens (Textual pilot) on a
PostgreSQL archive: the SQLite tests of tests/dashboard run unchanged here
with ``dash_archive`` built at a ``postgresql://`` address."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.dashboard.test_feed import (  # noqa: F401 - collected here against PostgreSQL
    test_alert_counters_and_hits,
    test_channel_rows_count_posts_per_hour,
    test_feed_items_name_the_origin_of_a_forward,
    test_post_history_has_versions_deletion_and_forward,
    test_recent_activity_then_cursor_reads_only_new_changes,
)
from tests.dashboard.test_pilot import (  # noqa: F401
    test_enter_opens_post_and_y_copies_link,
    test_help_search_and_quit_keys,
    test_panels_show_states_and_alert_counters,
    test_pause_stops_following,
)
from tests.fixtures.dashboard import build_archive
from tests.fixtures.postgres import PostgresCluster


@pytest.fixture
def dash_archive(pg_cluster: PostgresCluster) -> Path:
    """The fixed dashboard archive in a fresh PostgreSQL database."""
    return build_archive(Path(pg_cluster.create_database("dash")))
