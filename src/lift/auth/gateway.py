"""The caller API Gateway already authenticated, read from the event's `requestContext`.

API Gateway verifies the credentials before Lambda runs and passes the result along:
REST APIs in `requestContext.authorizer` (a Lambda authorizer's `principalId` and context,
or a Cognito authorizer's `claims`), HTTP APIs in `authorizer.jwt` (claims and scopes),
`authorizer.lambda` or `authorizer.iam`, IAM-signed REST calls in `requestContext.identity`, and VPC
Lattice (event format 2.0) calls signed for an AWS_IAM auth policy in `requestContext.identity`.
All become the same `Principal`. Headers are never read: a client can send any header, but
only the service sets `requestContext`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from lift.auth.principal import ClaimMap, Principal

__all__ = ["gateway_principal"]

_IAM_FIELDS = (
    "accountId",
    "accessKey",
    "caller",
    "callerId",
    "user",
    "userId",
    "userArn",
    "principalOrgId",
    "cognitoIdentityId",
    "cognitoIdentityPoolId",
    "cognitoAuthenticationType",
    "cognitoAuthenticationProvider",
)


def gateway_principal(event: Mapping[str, Any], claim_map: ClaimMap) -> Principal | None:
    """The principal API Gateway put in `event`, or None when no authorizer ran."""
    context = event.get("requestContext")
    if not isinstance(context, Mapping):
        return None
    authorizer = context.get("authorizer")
    if isinstance(authorizer, Mapping) and authorizer:
        principal = _from_authorizer(authorizer, claim_map)
        if principal is not None:
            return principal
    identity = context.get("identity")
    if isinstance(identity, Mapping):
        if identity.get("userArn"):
            return _iam_principal(identity)
        if identity.get("type") == "AWS_IAM" and isinstance(identity.get("principal"), str) and identity["principal"]:
            return _lattice_principal(identity)
    return None


def _from_authorizer(authorizer: Mapping[str, Any], claim_map: ClaimMap) -> Principal | None:
    jwt = authorizer.get("jwt")
    if isinstance(jwt, Mapping):  # HTTP API JWT authorizer
        return claim_map.principal(jwt.get("claims") or {}, "authorizer", scopes=jwt.get("scopes"))
    if isinstance(authorizer.get("claims"), Mapping):  # REST Cognito authorizer (and flat HTTP API shape)
        return claim_map.principal(authorizer["claims"], "authorizer", scopes=authorizer.get("scopes"))
    if isinstance(authorizer.get("iam"), Mapping):  # HTTP API / function URL IAM authorization
        return _iam_principal(authorizer["iam"])
    if isinstance(authorizer.get("lambda"), Mapping):  # HTTP API Lambda authorizer context
        return _lambda_principal(authorizer["lambda"], claim_map)
    return _lambda_principal(authorizer, claim_map)  # REST / WebSocket Lambda authorizer


def _lambda_principal(context: Mapping[str, Any], claim_map: ClaimMap) -> Principal | None:
    claims = {k: v for k, v in context.items() if k != "integrationLatency" and v is not None}
    if not claims:
        return None
    principal = claim_map.principal(claims, "authorizer")
    if principal.user_id is None and claims.get("principalId") is not None:
        principal = replace(principal, user_id=str(claims["principalId"]))
    return principal


def _lattice_principal(identity: Mapping[str, Any]) -> Principal:
    """A VPC Lattice caller: `principal` is the IAM role or user ARN that signed the request."""
    claims = {name: value for name, value in identity.items() if isinstance(value, str)}
    return Principal(user_id=identity["principal"], claims=claims, method="iam")


def _iam_principal(identity: Mapping[str, Any]) -> Principal | None:
    claims = {name: identity[name] for name in _IAM_FIELDS if identity.get(name) is not None}
    user = claims.get("userArn") or claims.get("callerId") or claims.get("caller")
    if user is None:
        return None
    return Principal(user_id=str(user), claims=claims, method="iam")
