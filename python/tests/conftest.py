"""Fixtures that start a real `kiln server` for the client tests and stop it
with SIGTERM, asserting a clean exit."""

import uuid

import pytest

from client_server import KilnServer, kiln  # noqa: F401  (kiln: the package, on sys.path via client_server)


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    instance = KilnServer(tmp_path_factory.mktemp("kiln") / "data")
    yield instance
    code = instance.stop()
    assert code == 0, f"kiln server exited {code} on SIGTERM:\n{instance.log_tail()}"


@pytest.fixture
def tracking(server, monkeypatch):
    """Points the module-level API at the session server, without a token."""
    monkeypatch.setenv("KILN_TRACKING_URI", server.url)
    monkeypatch.delenv("KILN_TOKEN", raising=False)
    monkeypatch.delenv("KILN_PROJECT", raising=False)
    kiln.set_tracking_uri(None)
    yield server
    while kiln.active_run() is not None:  # a failed test must not leak its run into the next
        kiln.end_run("KILLED")


@pytest.fixture
def client(tracking):
    with kiln.KilnClient(tracking.url, token="") as instance:
        yield instance


@pytest.fixture
def project():
    """A project name no other test uses."""
    return f"test-{uuid.uuid4().hex[:12]}"
