"""The users service of the shop: who may order."""

from __future__ import annotations

import msgspec

from lift import App, Context
from lift.errors import NotFound
from lift.middleware import request_id
from lift.middleware.tracing import Tracing


class User(msgspec.Struct):
    id: int
    name: str
    email: str
    blocked: bool = False


USERS = {
    1: User(1, "Ada Lovelace", "ada@example.com"),
    2: User(2, "Linus Torvalds", "linus@example.com"),
    3: User(3, "Mallory", "mallory@example.com", blocked=True),
}

app = App(name="users")
app.use(request_id(), Tracing(mode="headers"))
app.health.mount(app)


@app.get("/users/{user_id}")
def get_user(ctx: Context, user_id: int) -> User:
    user = USERS.get(user_id)
    if user is None:
        raise NotFound(f"User {user_id} not found", details={"user_id": user_id})
    ctx.logger.info("user read", extra={"user_id": user_id})
    return user


handler = app.handler
asgi = app.asgi
