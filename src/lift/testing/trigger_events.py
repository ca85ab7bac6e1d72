"""Event builders for the triggers beyond the core sources, shaped like AWS's documented events:
API Gateway authorizers, Cognito, Firehose, Kafka, CloudWatch Logs, SES, Amazon MQ, custom
resources, AppSync, Bedrock agents, S3 Object Lambda and Batch Operations, Secrets Manager
rotation, CodePipeline and VPC Lattice. Re-exported by `lift.testing.events`.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any
from urllib.parse import quote, urlencode

__all__ = [
    "apigw_token_authorizer",
    "apigw_request_authorizer",
    "http_api_authorizer",
    "websocket_authorizer",
    "vpc_lattice",
    "cognito",
    "firehose",
    "kafka",
    "cloudwatch_logs",
    "ses",
    "amazon_mq",
    "rabbitmq",
    "custom_resource",
    "appsync_resolver",
    "appsync_batch",
    "appsync_authorizer",
    "bedrock_agent",
    "bedrock_agent_function",
    "s3_object_lambda",
    "s3_batch",
    "secrets_rotation",
    "codepipeline_job",
]

ACCOUNT = "123456789012"
REGION = "us-east-1"
SOURCE_IP = "203.0.113.7"
_API = "abcdef123"


def _text(body: Any) -> str:
    if body is None:
        return ""
    if isinstance(body, bytes):
        return body.decode("utf-8")
    return body if isinstance(body, str) else json.dumps(body)


def _b64(data: Any) -> str:
    raw = data if isinstance(data, bytes) else _text(data).encode("utf-8")
    return base64.b64encode(raw).decode("ascii")


def _request_id() -> str:
    return str(uuid.uuid4())


# -- API Gateway authorizers ------------------------------------------------------------------
def _method_arn(method: str, path: str, stage: str, api: str) -> str:
    return f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api}/{stage}/{method}{path}"


def apigw_token_authorizer(
    token: str = "Bearer allow", *, method: str = "GET", path: str = "/pets", stage: str = "prod", api: str = _API
) -> dict[str, Any]:
    """A REST API TOKEN authorizer request."""
    return {"type": "TOKEN", "authorizationToken": token, "methodArn": _method_arn(method, path, stage, api)}


def apigw_request_authorizer(
    method: str = "GET",
    path: str = "/pets",
    *,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    stage: str = "prod",
    api: str = _API,
    resource: str | None = None,
) -> dict[str, Any]:
    """A REST API REQUEST authorizer request (also the HTTP API payload 1.0 shape, see http_api_authorizer)."""
    headers = {"Host": f"{api}.execute-api.{REGION}.amazonaws.com", **(headers or {})}
    query = query or {}
    return {
        "type": "REQUEST",
        "methodArn": _method_arn(method, path, stage, api),
        "resource": resource or path,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()},
        "pathParameters": {},
        "stageVariables": {},
        "requestContext": {
            "path": f"/{stage}{path}",
            "accountId": ACCOUNT,
            "resourceId": "05c7jb",
            "stage": stage,
            "requestId": _request_id(),
            "identity": {"sourceIp": SOURCE_IP, "userAgent": "lift-testclient/1.0"},
            "resourcePath": resource or path,
            "httpMethod": method,
            "apiId": api,
        },
    }


def http_api_authorizer(
    method: str = "GET",
    path: str = "/pets",
    *,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    version: str = "2.0",
    stage: str = "$default",
    api: str = _API,
    identity_source: list[str] | None = None,
) -> dict[str, Any]:
    """An HTTP API Lambda authorizer request, payload format `version` "2.0" or "1.0"."""
    headers = {
        k.lower(): v for k, v in {"Host": f"{api}.execute-api.{REGION}.amazonaws.com", **(headers or {})}.items()
    }
    query = query or {}
    arn = _method_arn(method, path, stage, api)
    if version == "1.0":
        event = apigw_request_authorizer(method, path, headers=headers, query=query, stage=stage, api=api)
        del event["multiValueHeaders"], event["multiValueQueryStringParameters"]  # (REST only)
        event["version"] = "1.0"
        event["identitySource"] = ",".join(identity_source or [headers.get("authorization", "")])
        event["authorizationToken"] = headers.get("authorization", "")
        return event
    return {
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": arn,
        "identitySource": identity_source if identity_source is not None else [headers.get("authorization", "")],
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "rawQueryString": urlencode(query, quote_via=quote),  # (percent-encoded, as the client sent it)
        "cookies": [],
        "headers": headers,
        "queryStringParameters": query,
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": api,
            "domainName": f"{api}.execute-api.{REGION}.amazonaws.com",
            "domainPrefix": api,
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": SOURCE_IP, "userAgent": "lift-testclient/1.0"},
            "requestId": _request_id(),
            "routeKey": f"{method} {path}",
            "stage": stage,
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()),
            "timeEpoch": int(time.time() * 1000),
        },
        "pathParameters": {},
        "stageVariables": {},
    }  # fmt: skip


def websocket_authorizer(
    *, headers: dict[str, str] | None = None, query: dict[str, str] | None = None, stage: str = "prod", api: str = _API
) -> dict[str, Any]:
    """A WebSocket API `$connect` REQUEST authorizer request."""
    host = f"{api}.execute-api.{REGION}.amazonaws.com"
    headers = {"Host": host, "Sec-WebSocket-Version": "13", **(headers or {})}
    query = query or {}
    epoch = int(time.time() * 1000)
    return {
        "type": "REQUEST",
        "methodArn": f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api}/{stage}/$connect",
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()},
        "stageVariables": {},
        "requestContext": {
            "routeKey": "$connect",
            "eventType": "CONNECT",
            "extendedRequestId": "XYZ123=",
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()),
            "messageDirection": "IN",
            "stage": stage,
            "connectedAt": epoch,
            "requestTimeEpoch": epoch,
            "identity": {"sourceIp": SOURCE_IP},
            "requestId": _request_id(),
            "domainName": host,
            "connectionId": base64.b64encode(uuid.uuid4().bytes[:10]).decode("ascii"),
            "apiId": api,
        },
    }


# -- VPC Lattice --------------------------------------------------------------------------------
def vpc_lattice(
    method: str = "GET",
    path: str = "/",
    *,
    body: Any = None,
    headers: dict[str, Any] | None = None,
    query: dict[str, Any] | None = None,
    version: str = "2.0",
    is_base64: bool = False,
) -> dict[str, Any]:
    """A VPC Lattice request to a Lambda target, event format `version` "2.0" or "1.0". The path is a
    URL path (a query string in it joins `query`; sent percent-encoded, as Lattice passes it on); a
    header or query value may be a list (v2 sends each one's values as a list; v1 keeps the last query
    value). Bytes that are not UTF-8 are sent base64-encoded, as Lattice sends a binary body."""
    from lift.testing.events import _merge_query, grouped, url_path, wire_values

    path, values = _merge_query(path, query)
    path = url_path(path)
    host = "orders-0123456789abcdef0.7d67968.vpc-lattice-svcs.us-east-1.on.aws"
    hdrs = {"host": host, "user-agent": "lift-testclient/1.0", "x-forwarded-for": "10.0.1.5"}
    if body is not None and not isinstance(body, str | bytes):
        hdrs["content-type"] = "application/json"
    hdrs.update({k.lower(): v for k, v in grouped(headers, fold_case=True).items()})
    if isinstance(body, bytes) and not is_base64:
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            is_base64 = True
    payload = _b64(body) if is_base64 else _text(body)
    if body is not None:
        hdrs.setdefault("content-length", str(len(base64.b64decode(payload)) if is_base64 else len(payload.encode())))
    values_of = {k: wire_values(v) for k, v in hdrs.items()}
    if version == "1.0":
        return {
            "raw_path": path,
            "method": method,
            "headers": {k: ",".join(v) for k, v in values_of.items()},
            "query_string_parameters": {k: v[-1] for k, v in values.items() if v},
            "body": payload,
            "is_base64_encoded": is_base64,
        }
    return {
        "version": "2.0",
        "path": path,
        "method": method,
        "headers": values_of,
        "queryStringParameters": values,
        "body": payload,
        "isBase64Encoded": is_base64,
        "requestContext": {
            "serviceNetworkArn": f"arn:aws:vpc-lattice:{REGION}:{ACCOUNT}:servicenetwork/sn-0bf3f2882e9cc805a",
            "serviceArn": f"arn:aws:vpc-lattice:{REGION}:{ACCOUNT}:service/svc-0a40eebed65f8d69c",
            "targetGroupArn": f"arn:aws:vpc-lattice:{REGION}:{ACCOUNT}:targetgroup/tg-6d0ecf831eec9f09",
            "identity": {
                "sourceVpcArn": f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc/vpc-0b8276c84697e7339",
                "type": "AWS_IAM",
                "principal": f"arn:aws:sts::{ACCOUNT}:assumed-role/example-role/057d00f8b51257ba3c853a0f248943cf",
                "sessionName": "057d00f8b51257ba3c853a0f248943cf",
            },
            "region": REGION,
            "timeEpoch": str(int(time.time() * 1_000_000)),
        },
    }


# -- Cognito user pools ----------------------------------------------------------------------------
_COGNITO_SOURCES = {
    "pre_sign_up": "PreSignUp_SignUp",
    "post_confirmation": "PostConfirmation_ConfirmSignUp",
    "pre_authentication": "PreAuthentication_Authentication",
    "post_authentication": "PostAuthentication_Authentication",
    "pre_token_generation": "TokenGeneration_Authentication",
    "define_auth_challenge": "DefineAuthChallenge_Authentication",
    "create_auth_challenge": "CreateAuthChallenge_Authentication",
    "verify_auth_challenge_response": "VerifyAuthChallengeResponse_Authentication",
    "custom_message": "CustomMessage_SignUp",
    "user_migration": "UserMigration_Authentication",
    "custom_email_sender": "CustomEmailSender_SignUp",
    "custom_sms_sender": "CustomSMSSender_SignUp",
}
_COGNITO_RESPONSES: dict[str, dict[str, Any]] = {
    "PreSignUp": {"autoConfirmUser": False, "autoVerifyEmail": False, "autoVerifyPhone": False},
    "TokenGeneration": {"claimsOverrideDetails": None},
    "DefineAuthChallenge": {"challengeName": None, "issueTokens": None, "failAuthentication": None},
    "CreateAuthChallenge": {"publicChallengeParameters": None, "privateChallengeParameters": None, "challengeMetadata": None},
    "VerifyAuthChallengeResponse": {"answerCorrect": None},
    "CustomMessage": {"smsMessage": None, "emailMessage": None, "emailSubject": None},
    "UserMigration": {"userAttributes": None, "finalUserStatus": None, "messageAction": None, "desiredDeliveryMediums": None, "forceAliasCreation": None},
}  # fmt: skip


def cognito(
    trigger: str = "pre_sign_up",
    *,
    user_name: str = "jane",
    attributes: dict[str, str] | None = None,
    request: dict[str, Any] | None = None,
    trigger_source: str | None = None,
    version: str = "1",
    user_pool_id: str = f"{REGION}_EXAMPLE",
) -> dict[str, Any]:
    """A Cognito user-pool trigger event (`trigger` as in `@app.cognito`; version "2"/"3" for the
    pre token generation V2/V3 events)."""
    if trigger_source is None and trigger not in _COGNITO_SOURCES:
        raise ValueError(f"Unknown Cognito trigger {trigger!r}; one of: {', '.join(_COGNITO_SOURCES)}")
    source = trigger_source or _COGNITO_SOURCES[trigger]
    prefix = source.split("_", 1)[0]
    attrs = {
        "sub": str(uuid.UUID(int=7)),
        "email": f"{user_name}@example.com",
        "email_verified": "true",
        **(attributes or {}),
    }
    req: dict[str, Any] = {"userAttributes": attrs}
    if prefix == "TokenGeneration":
        req["groupConfiguration"] = {"groupsToOverride": [], "iamRolesToOverride": [], "preferredRole": None}
        if version != "1":
            req["scopes"] = ["aws.cognito.signin.user.admin"]
    if prefix in ("CustomMessage",):
        req.update({"codeParameter": "{####}", "linkParameter": "{##Click Here##}", "usernameParameter": None})
    if prefix in ("CustomEmailSender", "CustomSMSSender"):
        req.update(
            {
                "type": "customEmailSenderRequestV1" if prefix == "CustomEmailSender" else "customSMSSenderRequestV1",
                "code": "AYADeBEXAMPLE",
            }
        )
    if prefix in ("DefineAuthChallenge", "CreateAuthChallenge", "VerifyAuthChallengeResponse"):
        req["clientMetadata"] = {}
        req["userNotFound"] = False
    if prefix in ("DefineAuthChallenge", "CreateAuthChallenge"):  # the challenges answered so far
        req["session"] = [{"challengeName": "SRP_A", "challengeResult": True, "challengeMetadata": None}]
    if prefix == "CreateAuthChallenge":
        req["challengeName"] = "CUSTOM_CHALLENGE"
    if prefix == "VerifyAuthChallengeResponse":
        req.update({"privateChallengeParameters": {"answer": "42"}, "challengeAnswer": "42"})
    if prefix == "PostAuthentication":
        req["newDeviceUsed"] = False
    if prefix == "UserMigration":
        req = {"password": "secret", "validationData": None}
    req.update(request or {})
    response = dict(_COGNITO_RESPONSES.get(prefix, {}))
    if prefix == "TokenGeneration" and version != "1":
        response = {"claimsAndScopeOverrideDetails": None}
    event: dict[str, Any] = {
        "version": version,
        "triggerSource": source,
        "region": REGION,
        "userPoolId": user_pool_id,
        "userName": user_name,
        "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": "1example23456789"},
        "request": req,
        "response": response,
    }
    if prefix in ("CustomEmailSender", "CustomSMSSender"):
        del event["response"]
    return event  # fmt: skip


# -- Firehose, Kafka, CloudWatch Logs --------------------------------------------------------------
def firehose(stream: str = "my-stream", records: list[Any] | None = None, *, msk: bool = False) -> dict[str, Any]:
    """A Firehose transformation event; each record's data is the bytes/str/JSON of `records`. With `msk`,
    as a delivery stream reading an Amazon MSK topic sends it (`sourceMSKArn`, each record's payload in
    `kafkaRecordValue`, which the answer must use too)."""
    now = int(time.time() * 1000)
    event: dict[str, Any] = {
        "invocationId": _request_id(),
        "deliveryStreamArn": f"arn:aws:firehose:{REGION}:{ACCOUNT}:deliverystream/{stream}",
        "region": REGION,
        "records": [
            {"recordId": f"4962941731000000000000000000000000000000000000000{i:02d}", "approximateArrivalTimestamp": now, "data": _b64(r)}
            for i, r in enumerate(records if records is not None else [{"hello": "world"}])
        ],
    }  # fmt: skip
    if msk:
        event["sourceMSKArn"] = (
            f"arn:aws:kafka:{REGION}:{ACCOUNT}:cluster/demo-cluster-1/6357e0b2-0e6a-4b86-a0b4-70df934c2e31-5"
        )
        for i, record in enumerate(event["records"]):
            record["kafkaRecordValue"] = record.pop("data")
            record["mskRecordMetadata"] = {"offset": str(i), "partitionId": "0", "approximateArrivalTimestamp": now}
    return event


def kafka(
    topic: str = "orders",
    values: list[Any] | None = None,
    *,
    partition: int = 0,
    key: str | None = "key-1",
    headers: dict[str, str] | None = None,
    self_managed: bool = False,
    first_offset: int = 15,
) -> dict[str, Any]:
    """An MSK (or self-managed Kafka) event with `values` as the records of one partition."""
    now = int(time.time() * 1000)
    # each header value as Lambda sends it: a list of Java's (signed) byte values, -61 for 0xC3
    hdrs = [
        {name: [b - 256 if b > 127 else b for b in value.encode("utf-8")]} for name, value in (headers or {}).items()
    ]
    records = [
        {
            "topic": topic,
            "partition": partition,
            "offset": first_offset + i,
            "timestamp": now,
            "timestampType": "CREATE_TIME",
            "key": None if key is None else _b64(key),
            "value": _b64(value),
            "headers": hdrs,
        }
        for i, value in enumerate(values if values is not None else [{"order_id": "a1"}])
    ]
    servers = "b-2.demo-cluster-1.a1bcde.c1.kafka.us-east-1.amazonaws.com:9092,b-1.demo-cluster-1.a1bcde.c1.kafka.us-east-1.amazonaws.com:9092"
    event: dict[str, Any] = {
        "eventSource": "SelfManagedKafka" if self_managed else "aws:kafka",
        "bootstrapServers": servers,
        "records": {f"{topic}-{partition}": records},
    }
    if not self_managed:
        event["eventSourceArn"] = (
            f"arn:aws:kafka:{REGION}:{ACCOUNT}:cluster/demo-cluster-1/6357e0b2-0e6a-4b86-a0b4-70df934c2e31-5"
        )
    return event  # fmt: skip


def cloudwatch_logs(
    log_group: str = "/aws/lambda/orders",
    messages: list[Any] | None = None,
    *,
    log_stream: str = "2024/01/01/[$LATEST]0123456789abcdef",
    control: bool = False,
) -> dict[str, Any]:
    """A CloudWatch Logs subscription delivery (gzip+base64), one log event per message."""
    import gzip

    now = int(time.time() * 1000)
    payload = {
        "messageType": "CONTROL_MESSAGE" if control else "DATA_MESSAGE",
        "owner": ACCOUNT,
        "logGroup": log_group,
        "logStream": log_stream,
        "subscriptionFilters": ["lift-subscription"],
        "logEvents": [
            {"id": f"3195310660696698337880902507980421114328961542429{i:05d}", "timestamp": now, "message": _text(m)}
            for i, m in enumerate(messages if messages is not None else ["hello"])
        ],
    }
    data = base64.b64encode(gzip.compress(json.dumps(payload).encode())).decode("ascii")
    return {"awslogs": {"data": data}}


# -- SES, Amazon MQ ---------------------------------------------------------------------------------
def ses(
    recipients: list[str] | None = None, *, source: str = "jane@example.com", subject: str = "Hello", spam: str = "PASS"
) -> dict[str, Any]:
    """An SES receipt-rule event (Lambda action) for one received mail."""
    recipients = recipients or ["orders@example.com"]
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    date = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())  # the mail's Date header (RFC 2822)
    message_id = uuid.uuid4().hex
    headers = [
        {"name": "From", "value": source},
        {"name": "To", "value": ", ".join(recipients)},
        {"name": "Subject", "value": subject},
    ]
    verdict = {"status": "PASS"}
    return {
        "Records": [
            {
                "eventSource": "aws:ses",
                "eventVersion": "1.0",
                "ses": {
                    "mail": {
                        "timestamp": now, "source": source, "messageId": message_id, "destination": recipients,
                        "headersTruncated": False, "headers": headers,
                        "commonHeaders": {"returnPath": source, "from": [source], "date": date, "to": recipients, "messageId": f"<{message_id}@example.com>", "subject": subject},
                    },
                    "receipt": {
                        "timestamp": now, "processingTimeMillis": 574, "recipients": recipients,
                        "spamVerdict": {"status": spam}, "virusVerdict": verdict, "spfVerdict": verdict, "dkimVerdict": verdict, "dmarcVerdict": verdict,
                        "action": {"type": "Lambda", "functionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:mail", "invocationType": "Event"},
                    },
                },
            }
        ]
    }  # fmt: skip


def amazon_mq(queue: str = "orders", messages: list[Any] | None = None) -> dict[str, Any]:
    """An Amazon MQ for ActiveMQ event: `messages` on queue `queue`."""
    now = int(time.time() * 1000)
    return {
        "eventSource": "aws:amq",
        "eventSourceArn": f"arn:aws:mq:{REGION}:{ACCOUNT}:broker:test:b-9bcfa592-423a-4942-879d-eb284b418fc8",
        "messages": [
            {
                "messageID": f"ID:b-9bcfa592-423a-4942-879d-eb284b418fc8-1.mq.{REGION}.amazonaws.com-37557-1234520418293-4:1:1:1:{i + 1}",
                "messageType": "jms/text-message", "deliveryMode": 1, "replyTo": None, "type": None, "expiration": 60000,
                "priority": 1, "correlationId": "myJMSCoID", "redelivered": False,
                "destination": {"physicalName": queue}, "data": _b64(m), "timestamp": now, "brokerInTime": now, "brokerOutTime": now,
                "properties": {"index": "1"},
            }
            for i, m in enumerate(messages if messages is not None else [{"hello": "world"}])
        ],
    }  # fmt: skip


def rabbitmq(queue: str = "orders", messages: list[Any] | None = None, *, vhost: str = "/") -> dict[str, Any]:
    """An Amazon MQ for RabbitMQ event: `messages` on queue `queue` of `vhost`."""
    return {
        "eventSource": "aws:rmq",
        "eventSourceArn": f"arn:aws:mq:{REGION}:{ACCOUNT}:broker:pizzaBroker:b-9bcfa592-423a-4942-879d-eb284b418fc8",
        "rmqMessagesByQueue": {
            f"{queue}::{vhost}": [
                {
                    "basicProperties": {
                        "contentType": "application/json", "contentEncoding": None, "headers": {}, "deliveryMode": 1, "priority": 34,
                        "correlationId": None, "replyTo": None, "expiration": "60000", "messageId": f"msg-{i + 1}", "timestamp": "Jan 1, 1970, 12:33:41 AM",
                        "type": None, "userId": "AIDACKCEVSQ6C2EXAMPLE", "appId": None, "clusterId": None, "bodySize": 80,
                    },
                    "redelivered": False,
                    "data": _b64(m),
                }
                for i, m in enumerate(messages if messages is not None else [{"hello": "world"}])
            ]
        },
    }  # fmt: skip


# -- CloudFormation custom resources ---------------------------------------------------------------
def custom_resource(
    request_type: str = "Create",
    *,
    resource_type: str = "Custom::Thing",
    properties: dict[str, Any] | None = None,
    old_properties: dict[str, Any] | None = None,
    physical_resource_id: str | None = None,
    response_url: str | None = "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/response",
    logical_resource_id: str = "MyThing",
) -> dict[str, Any]:
    """A CloudFormation custom resource request (Create, Update or Delete); with `response_url=None`,
    as the CDK provider framework hands it to its `onEvent` function (no `ResponseURL`)."""
    stack = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/my-stack/{uuid.uuid4()}"
    event: dict[str, Any] = {
        "RequestType": request_type,
        "ServiceToken": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:custom-resource",
        "ResponseURL": response_url,
        "StackId": stack,
        "RequestId": str(uuid.uuid4()),
        "LogicalResourceId": logical_resource_id,
        "ResourceType": resource_type,
        "ResourceProperties": {
            "ServiceToken": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:custom-resource",
            **(properties or {}),
        },
    }
    if response_url is None:
        del event["ResponseURL"]
    if request_type != "Create":
        event["PhysicalResourceId"] = physical_resource_id or f"{logical_resource_id}-abc123"
    if request_type == "Update":
        event["OldResourceProperties"] = old_properties or {}
    return event


# -- AppSync ---------------------------------------------------------------------------------------
def appsync_resolver(
    field: str = "Query.getPost",
    arguments: dict[str, Any] | None = None,
    *,
    source: dict[str, Any] | None = None,
    identity: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An AppSync direct Lambda resolver event for `Type.field`."""
    parent, _, name = field.partition(".")
    return {
        "arguments": arguments or {},
        "identity": identity,
        "source": source,
        "request": {"headers": {"host": f"{_API}.appsync-api.{REGION}.amazonaws.com", "x-amzn-requestid": _request_id()}, "domainName": None},
        "prev": None,
        "info": {"selectionSetList": ["id", "title"], "selectionSetGraphQL": "{ id title }", "parentTypeName": parent, "fieldName": name, "variables": {}},
        "stash": {},
    }  # fmt: skip


def appsync_batch(field: str = "Post.author", sources: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """An AppSync batch resolver invocation: one resolver event per source."""
    return [appsync_resolver(field, {}, source=s) for s in (sources or [{"id": "1"}, {"id": "2"}])]


def appsync_authorizer(
    token: str = "allow", *, operation: str = "getPost", query: str = "query { getPost(id: 1) { id } }"
) -> dict[str, Any]:
    """An AppSync Lambda authorizer request."""
    return {
        "authorizationToken": token,
        "requestContext": {"apiId": _API, "accountId": ACCOUNT, "requestId": _request_id(), "queryString": query, "operationName": operation, "variables": {}},
        "requestHeaders": {"authorization": token, "host": f"{_API}.appsync-api.{REGION}.amazonaws.com"},
    }  # fmt: skip


# -- Bedrock agents --------------------------------------------------------------------------------
def _agent_values(values: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Parameters or body properties as a Bedrock agent sends them: every value as text, with its type."""
    out = []
    for name, value in (values or {}).items():
        if isinstance(value, bool):
            kind, text = "boolean", "true" if value else "false"
        elif isinstance(value, int | float):
            kind, text = "integer" if isinstance(value, int) else "number", str(value)
        elif isinstance(value, list):
            kind, text = "array", json.dumps(value)
        else:
            kind, text = "string", str(value)
        out.append({"name": name, "type": kind, "value": text})
    return out


def _agent_event(action_group: str, parameters: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "messageVersion": "1.0",
        "agent": {"name": "claims-agent", "id": "8ZXY0W8P1H", "alias": "TSTALIASID", "version": "DRAFT"},
        "inputText": "Send reminders to all pending documents",
        "sessionId": "12345678912345",
        "actionGroup": action_group,
        "parameters": _agent_values(parameters),
        "sessionAttributes": {"tenant": "t-1"},
        "promptSessionAttributes": {},
    }


def bedrock_agent(
    api_path: str = "/claims",
    method: str = "GET",
    *,
    action_group: str = "ClaimManagement",
    parameters: dict[str, Any] | None = None,
    body: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A Bedrock agent action-group event, OpenAPI form (`apiPath`, `httpMethod`, `requestBody`)."""
    event = _agent_event(action_group, parameters)
    event.update({"apiPath": api_path, "httpMethod": method})
    if body is not None:
        event["requestBody"] = {"content": {"application/json": {"properties": _agent_values(body)}}}
    return event  # fmt: skip


def bedrock_agent_function(
    function: str = "send_reminder", *, action_group: str = "ClaimManagement", parameters: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A Bedrock agent action-group event, function-details form (`function`, `parameters`)."""
    event = _agent_event(action_group, parameters)
    event["function"] = function
    return event


# -- S3 Object Lambda, S3 Batch Operations --------------------------------------------------------
def s3_object_lambda(
    input_url: str = "https://my-bucket.s3.us-east-1.amazonaws.com/photo.jpg?X-Amz-Signature=abc",
    *,
    access_point: str = "my-olap",
    payload: str = "",
) -> dict[str, Any]:
    """An S3 Object Lambda GetObject event (the original is at the presigned `input_url`)."""
    return {
        "xAmzRequestId": _request_id(),
        "getObjectContext": {"inputS3Url": input_url, "outputRoute": "io-use1-001", "outputToken": "OutputToken"},
        "configuration": {
            "accessPointArn": f"arn:aws:s3-object-lambda:{REGION}:{ACCOUNT}:accesspoint/{access_point}",
            "supportingAccessPointArn": f"arn:aws:s3:{REGION}:{ACCOUNT}:accesspoint/example-ap",
            "payload": payload,
        },
        "userRequest": {"url": f"https://{access_point}-{ACCOUNT}.s3-object-lambda.{REGION}.amazonaws.com/photo.jpg", "headers": {"Host": f"{access_point}-{ACCOUNT}.s3-object-lambda.{REGION}.amazonaws.com", "Accept-Encoding": "identity", "X-Amz-Content-SHA256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}},
        "userIdentity": {"type": "IAMUser", "principalId": "AIDACKCEVSQ6C2EXAMPLE", "arn": f"arn:aws:iam::{ACCOUNT}:user/Alice", "accountId": ACCOUNT, "accessKeyId": "AKIAEXAMPLE"},
        "protocolVersion": "1.00",
    }  # fmt: skip


def s3_batch(
    bucket: str = "my-bucket",
    keys: list[str] | None = None,
    *,
    version: str = "1.0",
    user_arguments: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An S3 Batch Operations invocation (schema `version` "1.0" or "2.0"), one task per key."""
    job: dict[str, Any] = {"id": str(uuid.uuid4())}
    if version == "2.0":
        job["userArguments"] = user_arguments or {}
    tasks = []
    for i, key in enumerate(keys or ["photos/a.jpg"]):
        task: dict[str, Any] = {"taskId": f"dGFza2lk{i:04d}", "s3Key": key.replace(" ", "+"), "s3VersionId": None}
        if version == "2.0":
            task["s3Bucket"] = bucket
        else:
            task["s3BucketArn"] = f"arn:aws:s3:::{bucket}"
        tasks.append(task)
    return {
        "invocationSchemaVersion": version,
        "invocationId": "YXNkbGZqYWRmaiBhc2RmdW9hZHNmZGpmaGFzbGtkaGZza2RmaAo",
        "job": job,
        "tasks": tasks,
    }


# -- Secrets Manager rotation, CodePipeline ---------------------------------------------------------
def secrets_rotation(
    step: str = "createSecret", secret: str = "db-password", *, token: str | None = None
) -> dict[str, Any]:
    """A Secrets Manager rotation step for secret `secret`."""
    return {
        "Step": step,
        "SecretId": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{secret}-AbCdEf",
        "ClientRequestToken": token or str(uuid.uuid4()),
    }


def codepipeline_job(user_parameters: Any = None, *, job_id: str | None = None) -> dict[str, Any]:
    """A CodePipeline Lambda invoke action job."""
    params = (
        user_parameters if user_parameters is None or isinstance(user_parameters, str) else json.dumps(user_parameters)
    )
    configuration = {"FunctionName": "my-function"}
    if params is not None:
        configuration["UserParameters"] = params
    return {
        "CodePipeline.job": {
            "id": job_id or str(uuid.uuid4()),
            "accountId": ACCOUNT,
            "data": {
                "actionConfiguration": {"configuration": configuration},
                "inputArtifacts": [{"name": "SourceOutput", "revision": None, "location": {"type": "S3", "s3Location": {"bucketName": "pipeline-artifacts", "objectKey": "source.zip"}}}],
                "outputArtifacts": [],
                "artifactCredentials": {"accessKeyId": "AKIAEXAMPLE", "secretAccessKey": "secret", "sessionToken": "token"},
            },
        }
    }  # fmt: skip
