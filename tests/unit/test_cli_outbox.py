"""`multicart outbox list|retry` on a real database (both engines): JSON lines in the API's
shape, a requeue, and one line with exit 2 for bad input (1 for an entry still pending)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.elastic_path import ELASTIC_PATH
from orchestrator.cli import main
from orchestrator.store import PendingExternalDelete, Store
from tests.conftest import run_in_thread


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    out, err = capsys.readouterr()
    return int(stopped.value.code or 0), out, err


def entry(n: int) -> PendingExternalDelete:
    return PendingExternalDelete(
        id=f"xdel_{n}",
        cart_id=f"cart_{n}",
        bag_id=f"bag_{n}",
        merchant_id="mer_1",
        platform=ELASTIC_PATH,
        external_id=f"ext-{n}",
        next_attempt_at=datetime.now(UTC) + timedelta(hours=1),
    )


async def seed(url: str) -> None:
    """Entries 1 and 2 dead, 3 pending."""
    store = Store.from_url(url)
    try:
        await store.outbox.enqueue([entry(1), entry(2), entry(3)])
        for n in (1, 2):
            await store.outbox.bury(f"xdel_{n}", "dead", "gave up after failing for 36.0 h: 500")
    finally:
        await store.close()


def test_list_and_retry_dead_letters(
    migrated_database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    url = ["--database-url", migrated_database_url]
    run_in_thread(seed(migrated_database_url))

    code, out, _ = run(["outbox", "list", "--state", "dead", *url], capsys)
    shown = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [e["id"] for e in shown] == ["xdel_1", "xdel_2"]
    assert shown[0]["state"] == "dead" and shown[0]["platform"] == "ELASTIC_PATH"
    assert shown[0]["last_error"].startswith("gave up after failing")
    code, out, _ = run(["outbox", "list", "--limit", "1", *url], capsys)
    assert code == 0 and [json.loads(line)["id"] for line in out.splitlines()] == ["xdel_1"]

    code, out, _ = run(["outbox", "retry", "xdel_2", *url], capsys)
    requeued = json.loads(out)
    assert code == 0 and (requeued["state"], requeued["attempts"]) == ("pending", 0)
    code, out, _ = run(["outbox", "list", "--state", "dead", *url], capsys)
    assert [json.loads(line)["id"] for line in out.splitlines()] == ["xdel_1"]

    code, out, err = run(["outbox", "retry", "xdel_3", *url], capsys)
    assert code == 1 and out == "" and len(err.strip().splitlines()) == 1
    assert "still pending" in err


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["outbox", "retry", "xdel_nope"], "no outbox entry xdel_nope"),
        (["outbox", "retry", ""], "ID: must not be empty"),
        (["outbox", "list", "--limit", "0"], "--limit"),
        (["outbox", "list", "--state", "gone"], "invalid choice"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    migrated_database_url: str,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    says: str,
) -> None:
    code, out, err = run([*argv, "--database-url", migrated_database_url], capsys)
    assert code == 2 and out == "" and says in err, err
    assert "Traceback" not in err


def test_an_unmigrated_database_says_to_upgrade(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'new.db'}"
    code, _, err = run(["outbox", "list", "--database-url", url], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "upgrade" in err, err
