"""Service clients: typed calls to other services, with discovery, balancing and resilience.

    users = app.service("users", base_url="http://users.internal")      # a ServiceClient
    user = users.get("/users/{user_id}", user_id=42, response=User)
    typed = client_for(users_app, client=users)                         # one method per route

See docs/services.md. Submodules load lazily: `import lift.services` imports neither httpx nor boto3.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lift.services.auth import ApiKey, Auth, BearerToken, SigV4
    from lift.services.balancing import Balancer, HealthTracker, LeastOutstanding, RoundRobin, Weighted
    from lift.services.client import ServiceClient
    from lift.services.discovery import (
        CachedDiscovery,
        CloudMapDiscovery,
        Discovery,
        EnvDiscovery,
        Instance,
        NoInstances,
        StackOutputDiscovery,
        StaticDiscovery,
        deregister_instance,
        register_instance,
    )
    from lift.services.errors import ServiceError, UpstreamConflict, UpstreamNotFound, UpstreamTimeout
    from lift.services.propagation import current_context
    from lift.services.typed import TypedClient, client_for

_LAZY = {
    "ApiKey": "auth",
    "Auth": "auth",
    "BearerToken": "auth",
    "SigV4": "auth",
    "Balancer": "balancing",
    "HealthTracker": "balancing",
    "LeastOutstanding": "balancing",
    "RoundRobin": "balancing",
    "Weighted": "balancing",
    "ServiceClient": "client",
    "CachedDiscovery": "discovery",
    "CloudMapDiscovery": "discovery",
    "Discovery": "discovery",
    "EnvDiscovery": "discovery",
    "Instance": "discovery",
    "NoInstances": "discovery",
    "StackOutputDiscovery": "discovery",
    "StaticDiscovery": "discovery",
    "deregister_instance": "discovery",
    "register_instance": "discovery",
    "ServiceError": "errors",
    "UpstreamConflict": "errors",
    "UpstreamNotFound": "errors",
    "UpstreamTimeout": "errors",
    "current_context": "propagation",
    "TypedClient": "typed",
    "client_for": "typed",
}
__all__ = [
    "service_clients",
    "ApiKey",
    "Auth",
    "Balancer",
    "BearerToken",
    "CachedDiscovery",
    "CloudMapDiscovery",
    "Discovery",
    "EnvDiscovery",
    "HealthTracker",
    "Instance",
    "LeastOutstanding",
    "NoInstances",
    "RoundRobin",
    "ServiceClient",
    "ServiceError",
    "SigV4",
    "StackOutputDiscovery",
    "StaticDiscovery",
    "TypedClient",
    "UpstreamConflict",
    "UpstreamNotFound",
    "UpstreamTimeout",
    "Weighted",
    "client_for",
    "current_context",
    "deregister_instance",
    "register_instance",
    "service",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'lift.services' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"lift.services.{module}"), name)


def service_clients(app: Any) -> dict[str, ServiceClient]:
    """The clients `app.service(...)` made on `app`, by service name (what the deploy model reads
    to grant each discovery its lookups)."""
    return dict(app.__dict__.get("_service_clients", {}))


def service(app: Any, name: str, **options: Any) -> ServiceClient:
    """The client for service `name`, registered on `app` (what `app.service(name, ...)` calls).

    The first call creates it (options as `ServiceClient`); later calls without options return the
    same client. The app gets a middleware that makes each request current for its calls, so
    handlers need not pass `ctx=`.
    """
    from lift.services.client import ServiceClient
    from lift.services.propagation import bind_current

    clients = app.__dict__.setdefault("_service_clients", {})
    existing = clients.get(name)
    if existing is not None:
        if options:
            raise ValueError(f"service {name!r} is already configured on this app")
        return existing
    client = ServiceClient(name, app=app, **options)
    clients[name] = client
    if bind_current not in app.middleware:
        app.middleware.insert(0, bind_current)
        app._compose_all()
    return client
