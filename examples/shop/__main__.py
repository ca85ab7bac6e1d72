"""Run the whole shop on 127.0.0.1: `python -m examples.shop` (users :8101, payments :8102, orders :8100)."""

from __future__ import annotations

import os
import threading

import uvicorn


def main() -> None:
    os.environ.setdefault("LIFT_SERVICE_USERS_URL", "http://127.0.0.1:8101")
    os.environ.setdefault("LIFT_SERVICE_PAYMENTS_URL", "http://127.0.0.1:8102")
    from examples.shop import orders, payments, users

    servers = [
        uvicorn.Server(uvicorn.Config(users.asgi, host="127.0.0.1", port=8101, log_level="warning")),
        uvicorn.Server(uvicorn.Config(payments.asgi, host="127.0.0.1", port=8102, log_level="warning")),
    ]
    for server in servers:
        threading.Thread(target=server.run, daemon=True).start()
    print("orders on http://127.0.0.1:8100 (users :8101, payments :8102)")
    print('try: curl -X POST localhost:8100/orders -d \'{"user_id": 1, "amount_cents": 1999}\'')
    uvicorn.run(orders.asgi, host="127.0.0.1", port=8100, log_level="info")


if __name__ == "__main__":
    main()
