from __future__ import annotations

from fastapi.testclient import TestClient

from arpolicy.app import create_app
from arpolicy.config import Settings
from arpolicy.kit.db import make_engine
from arpolicy.kit.migrate import upgrade


def test_health_and_openapi_on_a_migrated_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'a.db'}"
    upgrade(make_engine(url))
    client = TestClient(create_app(Settings(database_url=url)))
    health = client.get("/health")
    assert health.status_code == 200
    assert health.json()["status"] == "ok" and health.json()["database"] == "sqlite"
    assert client.get("/openapi.json").json()["info"]["title"] == "arpolicy"
    assert client.get("/docs").status_code == 200


def test_health_reports_an_unmigrated_database(tmp_path):
    client = TestClient(create_app(Settings(database_url=f"sqlite:///{tmp_path / 'empty.db'}")))
    health = client.get("/health")
    assert health.status_code == 503
    assert health.json()["schema_current"] is False
