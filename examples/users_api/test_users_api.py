"""The example service, driven through real API Gateway events."""

import pytest

from examples.users_api import app as module
from examples.users_api.app import UserStore, app
from lift.testing import TestClient, events


@pytest.fixture(autouse=True)
def fresh_store(monkeypatch):
    monkeypatch.setattr(module, "store", UserStore())


@pytest.fixture(params=["rest", "http"])
def client(request):
    return TestClient(app, source=request.param)


def test_create_get_update_delete(client):
    created = client.post("/users", json={"name": "Ada", "email": "ada@example.com"})
    assert created.status_code == 201
    user = created.json()
    assert user["name"] == "Ada" and isinstance(user["id"], int)

    got = client.get(f"/users/{user['id']}")
    assert got.status_code == 200 and got.json() == user

    patched = client.patch(f"/users/{user['id']}", json={"age": 36})
    assert patched.json()["age"] == 36

    assert client.delete(f"/users/{user['id']}").status_code == 204
    missing = client.get(f"/users/{user['id']}")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


def test_list_with_typed_query(client):
    for i in range(5):
        client.post("/users", json={"name": f"u{i}", "email": f"u{i}@example.com"})
    page = client.get("/users?limit=2&offset=1").json()
    assert [u["name"] for u in page] == ["u1", "u2"]
    bad = client.get("/users?limit=lots")
    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["location"] == "query"


def test_invalid_body_lists_every_problem(client):
    resp = client.post("/users", json={"name": 5, "email": None, "extra": 1})
    assert resp.status_code == 422
    paths = {d["path"] for d in resp.json()["error"]["details"]}
    assert {"$.name", "$.email"} <= paths


def test_duplicate_email_is_conflict(client):
    client.post("/users", json={"name": "A", "email": "a@example.com"})
    again = client.post("/users", json={"name": "B", "email": "a@example.com"})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "email_taken"


def test_request_id_is_echoed_and_in_errors(client):
    resp = client.get("/users/999", headers={"X-Request-Id": "req-42"})
    assert resp.headers["x-request-id"] == "req-42"
    assert resp.json()["error"]["request_id"] == "req-42"


def test_users_imported_from_a_queue_fail_one_message_at_a_time():
    client = TestClient(app)
    client.post("/users", json={"name": "Ada", "email": "ada@example.com"})
    event = events.sqs(
        "user-imports",
        [
            {"name": "Grace", "email": "grace@example.com"},
            {"name": "", "email": "nobody@example.com"},  # fails validation
            {"name": "Ada", "email": "ada@example.com"},
        ],
    )  # already there
    result = client.invoke(event)
    assert result == {"batchItemFailures": [{"itemIdentifier": event["Records"][1]["messageId"]}]}
    emails = [u["email"] for u in client.get("/users").json()]
    assert emails == ["ada@example.com", "grace@example.com"]
