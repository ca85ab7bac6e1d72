"""A small in-memory users CRUD service, with users also imported from an SQS queue: the example
`make dev` runs."""

from __future__ import annotations

import itertools
import threading
from typing import Annotated

import msgspec

from lift import App, Context
from lift.errors import Conflict, NotFound
from lift.middleware import cors, recover, request_id, security_headers


class NewUser(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    email: str
    age: int | None = None


class UserPatch(msgspec.Struct, forbid_unknown_fields=True):
    name: str | None = None
    email: str | None = None
    age: int | None = None


class User(msgspec.Struct):
    id: int
    name: str
    email: str
    age: int | None = None


class ListQuery(msgspec.Struct):
    limit: int = 50
    offset: int = 0
    email: str | None = None


class UserStore:
    """Users kept in memory, safe across threads (the dev server may use several)."""

    def __init__(self) -> None:
        self._users: dict[int, User] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def create(self, new: NewUser) -> User:
        with self._lock:
            if any(u.email == new.email for u in self._users.values()):
                raise Conflict(f"A user with email {new.email} already exists", code="email_taken")
            user = User(id=next(self._ids), name=new.name, email=new.email, age=new.age)
            self._users[user.id] = user
            return user

    def get(self, user_id: int) -> User:
        try:
            return self._users[user_id]
        except KeyError:
            raise NotFound(f"User {user_id} not found") from None

    def list(self, query: ListQuery) -> list[User]:
        users = [u for u in self._users.values() if query.email is None or u.email == query.email]
        return users[query.offset : query.offset + query.limit]

    def update(self, user_id: int, patch: UserPatch) -> User:
        with self._lock:
            user = self.get(user_id)
            changes = {f: getattr(patch, f) for f in patch.__struct_fields__ if getattr(patch, f) is not None}
            updated = msgspec.structs.replace(user, **changes)
            self._users[user_id] = updated
            return updated

    def delete(self, user_id: int) -> None:
        with self._lock:
            self.get(user_id)
            del self._users[user_id]


store = UserStore()
app = App(name="users")
app.use(request_id(), recover(), cors("*"), security_headers())
api = app.group("/users")


@app.get("/")
def index() -> dict:
    return {"service": app.name, "routes": [e.template for e in app.routes]}


@api.get("/")
def list_users(query: ListQuery) -> list[User]:
    return store.list(query)


@api.post("/", status=201)
def create_user(body: NewUser) -> User:
    return store.create(body)


@api.get("/{user_id}")
def get_user(user_id: int) -> User:
    return store.get(user_id)


@api.patch("/{user_id}")
def update_user(ctx: Context, user_id: int, body: UserPatch) -> User:
    ctx.state["changed"] = True
    return store.update(user_id, body)


@api.delete("/{user_id}")
def delete_user(user_id: int) -> None:
    store.delete(user_id)


@app.sqs("user-imports")
def import_user(ctx: Context, body: NewUser) -> None:
    """Users imported from a queue, one message each. An invalid message fails alone (Lambda
    redelivers it, then the queue's DLQ keeps it); an email already taken counts as imported."""
    try:
        store.create(body)
    except Conflict:
        ctx.logger.info("user already imported", extra={"email": body.email, "message_id": ctx.record.message_id})


handler = app.handler
