"""Fixtures for the API and CLI tests: a fresh data directory per test and,
with KILN_TEST_POSTGRES_URI set (scripts/with-postgres), every test also
against a fresh PostgreSQL database."""

import pytest

from server_harness import POSTGRES_URI, KilnServer, fresh_postgres_database

BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URI else [])


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture
def store_uri(backend):
    return fresh_postgres_database() if backend == "postgresql" else ""


@pytest.fixture
def server(tmp_path, store_uri):
    instance = KilnServer(str(tmp_path / "data"), store=store_uri)
    yield instance
    assert instance.stop() == 0
