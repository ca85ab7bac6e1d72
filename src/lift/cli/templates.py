"""Project templates for `lift new`: api, events, websocket. `{{name}}` is the project name,
`{{module}}` its Python-safe form. Each project passes its own tests right away."""

from __future__ import annotations

__all__ = ["TEMPLATES", "render"]

PYPROJECT = """\
[project]
name = "{{name}}"
version = "0.1.0"
description = "{{name}}: an AWS Lambda service built with Lift"
requires-python = ">=3.11"
dependencies = ["lift-lambda", "msgspec>=0.18"]

[project.optional-dependencies]
dev = ["lift-lambda[dev]", "pytest>=8"]

[tool.lift]  # `lift synth` / `lift deploy STAGE` read this (docs/deploy.md)
app = "app:app"
runtime = "python3.12"
architecture = "arm64"
memory = 512
timeout = 30
log_retention_days = 30

[tool.lift.stages.prod]
memory = 1024
log_retention_days = 90

[tool.pytest.ini_options]
pythonpath = ["."]
testpaths = ["tests"]
"""

GITIGNORE = """\
__pycache__/
*.pyc
.venv/
.pytest_cache/
"""

README = """\
# {{name}}

An AWS Lambda service built with Lift (`lift new --template {{template}}`).

## The dev loop

```bash
python -m venv .venv && . .venv/bin/activate
pip install -e ".[dev]"         # Lift from PyPI as lift-lambda (imported as `lift`)

pytest                       # the tests drive app.handler with real AWS-shaped events
lift dev                     # http://127.0.0.1:8000, reloads on save; dashboard at /_lift/
lift routes                  # what the app registers
{{extra_commands}}{{probe}}   # under AWS's own runtime client
lift openapi -o openapi.json
```

To use Lift from a checkout instead of PyPI, install it first in the same virtualenv:
`pip install -e "/path/to/lift[dev]"`. The unrelated PyPI project `lift` must not be installed
beside it (it has a top-level `lift` package too).
Deploy `app.handler` (the module `app`, attribute `handler`) as the Lambda handler.
"""

API_APP = '''\
"""{{name}}: an HTTP API on AWS Lambda (API Gateway REST/HTTP API, ALB or a function URL)."""

from __future__ import annotations

import itertools
from typing import Annotated

import msgspec

from lift import App
from lift.errors import NotFound
from lift.middleware import recover, request_id, security_headers


class NewItem(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    price: Annotated[float, msgspec.Meta(ge=0)] = 0.0


class Item(msgspec.Struct):
    id: int
    name: str
    price: float


app = App(name="{{name}}")
app.use(request_id(), recover(), security_headers())

items: dict[int, Item] = {}
_ids = itertools.count(1)


@app.get("/health")
def health() -> dict:
    """Liveness check."""
    return {"status": "ok"}


@app.post("/items", status=201)
def create_item(body: NewItem) -> Item:
    """Create an item."""
    item = Item(id=next(_ids), name=body.name, price=body.price)
    items[item.id] = item
    return item


@app.get("/items/{item_id}")
def get_item(item_id: int) -> Item:
    """Fetch one item."""
    try:
        return items[item_id]
    except KeyError:
        raise NotFound(f"Item {item_id} not found") from None


handler = app.handler
'''

API_TESTS = '''\
"""The API through real API Gateway events (REST and HTTP API payloads)."""

import pytest

from app import app
from lift.testing import TestClient


@pytest.fixture(params=["rest", "http"])
def client(request):
    return TestClient(app, source=request.param)


def test_health(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_create_then_get(client):
    created = client.post("/items", json={"name": "pen", "price": 1.5})
    assert created.status_code == 201
    item = created.json()
    assert client.get(f"/items/{item['id']}").json() == item


def test_invalid_item_is_422_with_the_field(client):
    response = client.post("/items", json={"name": "", "price": -1})
    assert response.status_code == 422
    paths = {problem["path"] for problem in response.json()["error"]["details"]}
    assert {"$.name", "$.price"} <= paths


def test_unknown_item_is_404(client):
    response = client.get("/items/999999")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
'''

EVENTS_APP = '''\
"""{{name}}: a Lambda fed by SQS, S3 and a schedule, plus a health route."""

from __future__ import annotations

import msgspec

from lift import App, Context
from lift.middleware import recover, request_id

app = App(name="{{name}}")
app.use(request_id(), recover())


class Order(msgspec.Struct):
    order_id: str
    amount: float


processed: list[str] = []
uploads: list[str] = []
reports: list[str] = []


@app.sqs("orders")
def process_order(ctx: Context, body: Order) -> None:
    """One call per SQS message; a raised error reports just this message in batchItemFailures."""
    if body.amount < 0:
        raise ValueError(f"negative amount in order {body.order_id}")
    processed.append(body.order_id)


@app.s3("uploads", events=["ObjectCreated:*"], prefix="in/")
def on_upload(ctx: Context) -> None:
    """A new object under in/ in the uploads bucket."""
    uploads.append(ctx.record.key)


@app.schedule("nightly-report", cron="0 3 * * ? *")
def nightly_report(ctx: Context) -> None:
    """Runs every night at 03:00 UTC (and on `lift send schedule nightly-report`)."""
    reports.append(ctx.record.time)


@app.get("/health")
def health() -> dict:
    return {"status": "ok", "processed": len(processed)}


handler = app.handler
'''

EVENTS_TESTS = '''\
"""Each trigger through app.handler with the events AWS sends (fixtures from Lift's pytest plugin:
lift_app, lift_client, lift_events)."""

import json

import app as service
from lift.testing import assert_batch_failures


def test_sqs_batch_reports_only_the_failed_message(lift_app, lift_events):
    event = lift_events.sqs("orders", [json.dumps({"order_id": "a1", "amount": 10}),
                                       json.dumps({"order_id": "b2", "amount": -5})])
    failed_id = event["Records"][1]["messageId"]
    assert_batch_failures(lift_app.handler(event, None), [failed_id])
    assert "a1" in service.processed and "b2" not in service.processed


def test_s3_upload_under_prefix(lift_app, lift_events):
    lift_app.handler(lift_events.s3("uploads", "in/report 1.csv"), None)
    assert "in/report 1.csv" in service.uploads


def test_schedule_runs_the_report(lift_app, lift_events):
    before = len(service.reports)
    lift_app.handler(lift_events.schedule("nightly-report"), None)
    assert len(service.reports) == before + 1


def test_health_route(lift_client):
    assert lift_client.get("/health").json()["status"] == "ok"
'''

WEBSOCKET_APP = '''\
"""{{name}}: a WebSocket API (API Gateway) that echoes messages back to the sender."""

from __future__ import annotations

import msgspec

from lift import App, Context
from lift.errors import Unauthorized

app = App(name="{{name}}")
connections: set[str] = set()


class Message(msgspec.Struct):
    action: str
    text: str = ""


@app.websocket("$connect")
def connect(ctx: Context) -> None:
    """Refuse clients without a token (the query string of the connect request)."""
    if not ctx.record.query.get("token"):
        raise Unauthorized("token required")
    connections.add(ctx.connection_id)


@app.websocket("$disconnect")
def disconnect(ctx: Context) -> None:
    connections.discard(ctx.connection_id)


@app.websocket("echo")
def echo(ctx: Context, body: Message) -> dict:
    """The returned value is sent back to the caller."""
    return {"echo": body.text}


handler = app.handler
'''

WEBSOCKET_TESTS = '''\
"""The WebSocket routes through the events API Gateway sends."""

import json

import app as service
from lift.testing import TestClient, events


def test_connect_needs_a_token():
    client = TestClient(service.app)
    refused = client.invoke(events.websocket_connect(connection_id="c1"))
    assert refused["statusCode"] == 401
    accepted = client.invoke(events.websocket_connect(connection_id="c2", query={"token": "t"}))
    assert accepted["statusCode"] == 200
    assert "c2" in service.connections
    client.invoke(events.websocket_disconnect(connection_id="c2"))
    assert "c2" not in service.connections


def test_echo_route():
    result = TestClient(service.app).invoke(
        events.websocket_message(json.dumps({"action": "echo", "text": "hi"}), route_key="echo", connection_id="c2"))
    assert result["statusCode"] == 200
    assert json.loads(result["body"]) == {"echo": "hi"}
'''

TEMPLATES: dict[str, dict[str, str]] = {
    "api": {"app.py": API_APP, "tests/test_app.py": API_TESTS},
    "events": {"app.py": EVENTS_APP, "tests/test_app.py": EVENTS_TESTS},
    "websocket": {"app.py": WEBSOCKET_APP, "tests/test_app.py": WEBSOCKET_TESTS},
}

_EXTRA_COMMANDS = {
    "api": "",
    "events": 'lift send sqs orders \'{"order_id": "a1", "amount": 10}\'   # while lift dev runs\n'
    "lift send schedule nightly-report\n",
    "websocket": "",
}
_PROBE = {
    "api": "lift invoke --runtime --event-type http --path /health",
    "events": 'lift invoke --runtime --event-type sqs --queue orders --body \'{"order_id": "a1", "amount": 1}\'',
    "websocket": 'lift invoke --runtime --event-type websocket --route echo --body \'{"action": "echo", "text": "hi"}\'',
}


def render(template: str, name: str) -> dict[str, str]:
    """Relative path -> file content for a new project called `name`."""
    files = {
        "pyproject.toml": PYPROJECT,
        ".gitignore": GITIGNORE,
        "README.md": README,
        "tests/__init__.py": "",
        **TEMPLATES[template],
    }
    values = {
        "name": name,
        "template": template,
        "extra_commands": _EXTRA_COMMANDS[template],
        "probe": _PROBE[template],
    }
    rendered = {}
    for path, content in files.items():
        for key, value in values.items():
            content = content.replace("{{" + key + "}}", value)
        rendered[path] = content
    return rendered
