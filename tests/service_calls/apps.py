"""The callee apps the service tests call over real HTTP."""

from __future__ import annotations

import threading
import time

import msgspec
from pydantic import BaseModel

from lift import App, Context, Response
from lift.errors import NotFound
from lift.middleware import request_id
from lift.middleware.tracing import Tracing


class User(msgspec.Struct):
    id: int
    name: str


class UserModel(BaseModel):
    id: int
    name: str


class NewUser(msgspec.Struct):
    name: str


class Page(msgspec.Struct):
    limit: int = 10
    prefix: str | None = None


class Recorder:
    """What the callee saw: each request's headers, hit counts per path, peak concurrency."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seen: list[dict[str, str]] = []
        self.hits: dict[str, int] = {}
        self.in_flight = 0
        self.peak = 0
        self.fail_first = 0
        self.slow_ms = 0
        self.gate = threading.Event()

    def enter(self, ctx: Context) -> None:
        with self.lock:
            self.seen.append({k.lower(): v for k, v in ctx.headers.items()})
            self.hits[ctx.route or ""] = self.hits.get(ctx.route or "", 0) + 1
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)

    def leave(self) -> None:
        with self.lock:
            self.in_flight -= 1


def users_app(name: str = "users", instance: str = "a") -> tuple[App, Recorder]:
    app = App(name=name)
    rec = Recorder()
    app.use(request_id(), Tracing(mode="headers"))
    users = {1: "Ada", 2: "Linus"}

    def recorded(ctx: Context, call_next):  # middleware: every request seen, concurrency measured
        rec.enter(ctx)
        try:
            return call_next(ctx)
        finally:
            rec.leave()

    app.use(recorded)

    @app.get("/users/{user_id}")
    def get_user(ctx: Context, user_id: int) -> User:
        if user_id not in users:
            raise NotFound(f"User {user_id} not found", details={"user_id": user_id})
        return User(user_id, users[user_id])

    @app.post("/users", status=201)
    def create_user(body: NewUser) -> User:
        new_id = max(users) + 1
        users[new_id] = body.name
        return User(new_id, body.name)

    @app.get("/users")
    def list_users(query: Page) -> list[User]:
        found = [User(i, n) for i, n in sorted(users.items()) if not query.prefix or n.startswith(query.prefix)]
        return found[: query.limit]

    @app.get("/whoami")
    def whoami(ctx: Context) -> dict:
        return {"instance": instance, "request_id": ctx.request_id}

    @app.get("/flaky")
    def flaky(ctx: Context) -> Response:
        with rec.lock:
            rec.fail_first -= 1
            failing = rec.fail_first >= 0
        if failing:
            return Response.json({"error": {"code": "busy", "message": "try later"}}, 503, {"Retry-After": "0"})
        return Response.json({"ok": True})

    @app.post("/charges")
    def charge(ctx: Context) -> Response:
        with rec.lock:
            rec.fail_first -= 1
            failing = rec.fail_first >= 0
        if failing:
            return Response.json({"error": {"code": "busy", "message": "later"}}, 503)
        return Response.json({"charged": True, "key": ctx.headers.get("idempotency-key")}, 201)

    @app.get("/boom")
    def boom() -> dict:
        raise RuntimeError("secret database password in this text")

    @app.get("/slow")
    def slow(ctx: Context) -> dict:
        time.sleep((rec.slow_ms or int(ctx.query.get("ms", "200"))) / 1000)
        return {"slept": True}

    @app.get("/gate")
    def gate() -> dict:
        rec.gate.wait(10)  # held until the test opens the gate
        return {"passed": True}

    @app.get("/bad-shape")
    def bad_shape() -> dict:
        return {"id": "not-a-number", "name": 3}

    return app, rec
