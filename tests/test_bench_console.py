"""The console and reads benches run end to end on a small store: all they time answers, the seed is consistent."""

from datetime import UTC, datetime
from pathlib import Path

from bench import console, reads
from bench.console_seed import seed_store
from domain.returns import Status
from store.db import Database
from store.migrate import upgrade_async
from store.queues import queue_counts
from store.returns import ReturnFilter, list_returns
from tests.conftest import fresh_postgres_database


async def test_the_seed_writes_returns_as_save_return_would(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'seed.db'}"
    await upgrade_async(url)
    database = Database(url)
    try:
        seeded = await seed_store(database, 300, datetime.now(UTC))
        again = await seed_store(database, 300, datetime.now(UTC))
        async with database.sessions() as session:
            counts = await queue_counts(session)
            newest, _ = await list_returns(session, ReturnFilter(), 300, None)
    finally:
        await database.dispose()
    assert len(seeded) == 300 and {s.return_id for s in again} == {s.return_id for s in seeded}, "topped up only"
    assert counts.review == sum(1 for s in seeded if s.status == Status.UNDER_REVIEW) > 0
    assert counts.attention > 0 and counts.inspection > 0
    assert all(view.timeline[-1].status == view.status for view in newest)
    assert all(view.attention is not None for view in newest if view.status == Status.NEEDS_ATTENTION)


async def test_the_bench_times_every_page_with_a_served_console(tmp_path: Path) -> None:
    args = console.parse_args(["--returns", "120", "--requests", "2", "--output", str(tmp_path / "out.json")])
    results = await console.run(args)
    assert results["returns_in_store"] == 120
    for page in results["pages"]:
        # The return page is another part of the console; until it is there, it is not timed ("n/a").
        assert page["statuses"] == [200] or (page["page"] == "return page" and page["verdict"] == "n/a"), page


async def test_the_reads_bench_times_every_filter_over_a_seeded_postgresql(tmp_path: Path) -> None:
    async with fresh_postgres_database() as url:
        args = reads.parse_args(
            ["--returns", "3000", "--requests", "3", "--database-url", url, "--output", str(tmp_path / "out.json")]
        )
        results = await reads.run(args)
    assert results["seeded"]["written"] == 3000
    for timed in results["filters"]:
        assert timed["items"] > 0, timed["filter"]
        assert any("Index" in line for line in timed["plan"]), timed["plan"]
