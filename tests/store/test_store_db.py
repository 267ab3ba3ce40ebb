"""Where the store lives, how it is described, and clear errors when it can't be opened."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from signoff.core.errors import InputError, SignoffError
from signoff.store.db import describe, make_engine, resolve_url
from signoff.store.store import Store


def test_default_is_a_sqlite_file_in_signoff_home(monkeypatch, tmp_path):
    home = tmp_path / "not" / "yet"
    monkeypatch.setenv("SIGNOFF_HOME", str(home))
    with Store() as store:
        assert store.describe() == f"local ({home.resolve() / 'signoff.db'})"
    assert (home / "signoff.db").is_file()


def test_without_signoff_home_the_user_data_dir_is_used(monkeypatch, tmp_path):
    monkeypatch.delenv("SIGNOFF_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert resolve_url().database == str(tmp_path / "xdg" / "signoff" / "signoff.db")


def test_signoff_database_url_wins(monkeypatch, tmp_path):
    monkeypatch.setenv("SIGNOFF_DATABASE_URL", f"sqlite:///{tmp_path / 'team.db'}")
    assert resolve_url().database == str(tmp_path / "team.db")
    assert resolve_url(f"sqlite:///{tmp_path / 'given.db'}").database == str(tmp_path / "given.db")


@pytest.mark.parametrize("given", ["postgresql://u:secret@db.example.com:5433/reviews",
                                   "postgres://u:secret@db.example.com:5433/reviews"])
def test_postgres_urls_use_psycopg_and_hide_the_password(given):
    url = resolve_url(given)
    assert url.drivername == "postgresql+psycopg"
    assert describe(url) == "postgresql://u@db.example.com:5433/reviews"
    assert "secret" not in url.render_as_string(hide_password=True)


@pytest.mark.parametrize("bad, message", [("not a url", "not a database URL"),
                                          ("mysql://u@h/db", "unsupported database 'mysql'")])
def test_bad_urls_are_input_errors(monkeypatch, bad, message):
    monkeypatch.setenv("SIGNOFF_DATABASE_URL", bad)
    with pytest.raises(InputError, match=message):
        Store()


def test_unreachable_postgres_is_one_clear_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]       # nobody listens here once closed
    with pytest.raises(SignoffError, match=r"cannot open the review store postgresql://u@127.0.0.1:\d+/db"):
        Store(f"postgresql://u:pw@127.0.0.1:{port}/db")


def test_a_file_that_is_not_a_database(tmp_path: Path):
    path = tmp_path / "signoff.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(SignoffError, match="cannot open the review store local"):
        Store(f"sqlite:///{path}")


def test_sqlite_pragmas(tmp_path):
    engine = make_engine(resolve_url(f"sqlite:///{tmp_path / 'p.db'}"))
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10000
    finally:
        engine.dispose()


def test_timestamps_are_aware_utc_on_both_backends(store, make_request):
    rec = make_request(store)
    for value in (rec.created_at, store.get_request(rec.id).created_at, store.list_requests()[0].created_at):
        assert value.tzinfo is not None and value.utcoffset().total_seconds() == 0
    assert store.get_request(rec.id).created_at == rec.created_at   # microseconds kept


def test_a_store_folder_that_cannot_be_made(monkeypatch, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("SIGNOFF_HOME", str(blocker / "signoff"))
    with pytest.raises(SignoffError, match="cannot create the folder of the review store"):
        Store()


def test_missing_postgresql_fails_the_fixture_with_the_fix(tmp_path):
    from tests.support.postgres import find_bin_dir

    with pytest.raises(pytest.fail.Exception, match="run make test, which installs postgresql"):
        find_bin_dir(str(tmp_path / "no-postgresql" / "*" / "bin" / "initdb"))
