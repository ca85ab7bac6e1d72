"""The `Principal` (who is calling) and `ClaimMap` (where its fields come from in a claim set)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from lift.auth.credentials import InvalidCredentials

__all__ = ["Principal", "ClaimMap", "split_claim_list"]

Match = Literal["all", "any"]


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller, whatever proved it: a JWT, an API key or an API Gateway authorizer."""

    user_id: str | None
    tenant_id: str | None = None
    roles: frozenset[str] = frozenset()
    scopes: frozenset[str] = frozenset()
    claims: Mapping[str, Any] = field(default_factory=dict)
    method: str = "jwt"  # "jwt", "api_key", "authorizer", "iam" or "alb_oidc"

    def has_roles(self, roles: Iterable[str], match: Match = "all") -> bool:
        """True when the principal holds all (or, with match="any", at least one) of `roles`."""
        return _matches(self.roles, roles, match)

    def has_scopes(self, scopes: Iterable[str], match: Match = "all") -> bool:
        """True when the principal was granted all (or any) of `scopes`."""
        return _matches(self.scopes, scopes, match)


def _matches(held: frozenset[str], wanted: Iterable[str], match: Match) -> bool:
    wanted = tuple(wanted)
    if match == "any":
        return any(item in held for item in wanted)
    return all(item in held for item in wanted)


def split_claim_list(value: Any) -> frozenset[str]:
    """A claim that lists names, in any shape IdPs and API Gateway send it, as a set.

    Lists stay lists; strings are split on spaces/commas, and API Gateway's flattened
    array form "[admin users]" (HTTP API JWT authorizer claims) is unwrapped first.
    """
    if value is None or value == "":
        return frozenset()
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("[") and text.endswith("]"):
            text = text[1:-1]
        return frozenset(part for part in text.replace(",", " ").split() if part)
    if isinstance(value, (list, tuple, set, frozenset)):
        return frozenset(str(item) for item in value if item is not None and item != "")
    return frozenset({str(value)})


def _names(value: str | Iterable[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


@dataclass(frozen=True, slots=True, init=False)
class ClaimMap:
    """Which claims hold the user id, tenant, roles and scopes; the first present one wins.

    The defaults cover Cognito (`cognito:groups`, `custom:tenant_id`), Auth0 (`scope`),
    Okta (`scp`, `groups`) and plain `roles`/`tenant_id` claims.
    """

    user: tuple[str, ...]
    tenant: tuple[str, ...]
    roles: tuple[str, ...]
    scopes: tuple[str, ...]

    def __init__(
        self,
        user: str | Iterable[str] = ("sub",),
        tenant: str | Iterable[str] = ("tenant_id", "custom:tenant_id"),
        roles: str | Iterable[str] = ("roles", "cognito:groups", "groups"),
        scopes: str | Iterable[str] = ("scope", "scp", "scopes"),
    ) -> None:
        object.__setattr__(self, "user", _names(user))
        object.__setattr__(self, "tenant", _names(tenant))
        object.__setattr__(self, "roles", _names(roles))
        object.__setattr__(self, "scopes", _names(scopes))

    def principal(self, claims: Mapping[str, Any], method: str, scopes: Iterable[str] | None = None) -> Principal:
        """Build the principal for `claims`; `scopes` given by API Gateway take precedence."""
        user = _first(claims, self.user)
        tenant = _first(claims, self.tenant)
        if tenant is not None and tenant.__class__ not in (str, int):  # str(True) would be tenant "True"
            raise InvalidCredentials(f"tenant claim is a {type(tenant).__name__}, not text")
        granted = split_claim_list(list(scopes)) if scopes else split_claim_list(_first(claims, self.scopes))
        return Principal(
            user_id=None if user is None else str(user),
            tenant_id=None if tenant in (None, "") else str(tenant),
            roles=split_claim_list(_first(claims, self.roles)),
            scopes=granted,
            claims=dict(claims),
            method=method,
        )


def _first(claims: Mapping[str, Any], names: tuple[str, ...]) -> Any:
    for name in names:
        value = claims.get(name)
        if value is not None:
            return value
    return None
