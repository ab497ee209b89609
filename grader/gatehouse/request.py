"""What is asked: the credential scope, the operation and its parameters of one raw HTTP request.

The common shapes are read directly (an ``Action=`` form, an ``X-Amz-Target`` JSON call, a plain S3 bucket or object
request), which keeps the gatehouse cheap next to moto; anything else goes through moto's own router and protocol
parser for the service (``grader.aws.parsing``), the same ones moto answers with.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional
from urllib.parse import parse_qs, parse_qsl, unquote, urlsplit

from grader.aws import parsing
from grader.aws.errors import IncompleteSignature, InvalidAction
from grader.gatehouse.services import ServiceTable

__all__ = ["Raw", "credential_scope", "operation_of", "protocol_of"]

@dataclass
class Raw:
    method: str
    url: str
    headers: dict
    body: Any

    def header(self, name: str) -> Optional[str]:
        value = self.headers.get(name)  # botocore's and werkzeug's headers are case-insensitive already
        if value is None and isinstance(self.headers, dict):
            lowered = name.lower()
            for key, candidate in self.headers.items():
                if key.lower() == lowered:
                    value = candidate
                    break
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        return value


def credential_scope(raw: Raw) -> Optional[tuple]:
    """(access key id, region, signing name) from the SigV4 Authorization header or a presigned URL's query."""
    auth = raw.header("Authorization")
    credential = None
    if auth:
        if "Credential=" not in auth:
            raise IncompleteSignature("Authorization header requires 'Credential' parameter. "
                                      f"The header the sandbox received was: {auth[:80]!r}")
        credential = auth.split("Credential=", 1)[1].split(",", 1)[0].strip()
    else:
        query = parse_qs(urlsplit(raw.url).query)
        if "X-Amz-Credential" in query:
            credential = query["X-Amz-Credential"][0]
    if credential is None:
        return None
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request" or not parts[0]:
        raise IncompleteSignature(f"The credential scope {credential!r} is not of the form "
                                  "AccessKeyId/date/region/service/aws4_request.")
    return parts[0], parts[2], parts[3]


def operation_of(table: ServiceTable, raw: Raw) -> tuple:
    """(operation name, parameters) of the request.

    The common shapes are read directly (an ``Action=`` form, an ``X-Amz-Target`` JSON call, a plain S3 bucket or
    object request), which keeps the gatehouse cheap next to moto; anything else goes through moto's own router
    and protocol parser for the service, the same ones moto answers with.
    """
    quick = _quick_operation(table, raw)
    return quick if quick is not None else _routed_operation(table, raw)


def _body_bytes(raw: Raw) -> Optional[bytes]:
    if raw.body is None:
        return b""
    if isinstance(raw.body, str):
        return raw.body.encode("utf-8")
    return raw.body if isinstance(raw.body, bytes) else None  # a stream: not ours to read


def _quick_operation(table: ServiceTable, raw: Raw) -> Optional[tuple]:
    model_name = table.model_name
    protocol = parsing.service_model(model_name).protocol
    if protocol == "rest-xml" and model_name == "s3":
        return _quick_s3(raw)
    body = _body_bytes(raw)
    if body is None:
        return None
    content_type = raw.header("Content-Type") or ""
    if protocol in ("query", "ec2") and content_type.startswith("application/x-www-form-urlencoded"):
        from werkzeug.datastructures import MultiDict

        values = MultiDict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        name = values.get("Action")
    elif protocol == "json" and raw.header("X-Amz-Target"):
        values = None
        name = raw.header("X-Amz-Target").rsplit(".", 1)[-1]
    else:
        return None
    if name not in parsing.operation_names(model_name):
        return None
    return name, parsing.parse(model_name, name, raw.method, values, body)


# Query parameters a plain S3 listing or object request may carry; any other one (?policy, ?tagging, ?uploads...)
# names a sub-resource, and the request goes through moto's router instead.
_S3_PLAIN_QUERY = frozenset(("list-type", "prefix", "delimiter", "max-keys", "encoding-type", "continuation-token",
                             "start-after", "fetch-owner", "marker", "x-id"))


def _quick_s3(raw: Raw) -> Optional[tuple]:
    parts = urlsplit(raw.url)
    host = (parts.hostname or "").lower()
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    if not set(query) <= _S3_PLAIN_QUERY or not host.endswith(".amazonaws.com"):
        return None
    path = parts.path or "/"
    if ".s3." in host and not host.startswith("s3."):
        bucket, key = host.split(".s3.", 1)[0], path[1:]
    elif host.startswith("s3."):
        bucket, _, key = path[1:].partition("/")
    else:
        return None
    key = unquote(key)
    method = raw.method.upper()
    if not bucket:
        return ("ListBuckets", {}) if method == "GET" and not query else None
    params: dict = {"Bucket": bucket}
    if not key:
        if method == "GET":
            params.update({k: v for k, v in (("Prefix", query.get("prefix")), ("Delimiter", query.get("delimiter")))
                           if v is not None})
            if query.get("max-keys", "").isdigit():
                params["MaxKeys"] = int(query["max-keys"])
            return ("ListObjectsV2" if query.get("list-type") == "2" else "ListObjects"), params
        operation = {"HEAD": "HeadBucket", "PUT": "CreateBucket", "DELETE": "DeleteBucket"}.get(method)
        return (operation, params) if operation and not query else None
    params["Key"] = key
    if method == "PUT" and raw.header("x-amz-copy-source"):
        params["CopySource"] = raw.header("x-amz-copy-source")
        return "CopyObject", params
    operation = {"GET": "GetObject", "HEAD": "HeadObject", "PUT": "PutObject", "DELETE": "DeleteObject"}.get(method)
    return (operation, params) if operation else None


def _routed_operation(table: ServiceTable, raw: Raw) -> tuple:
    # A streaming body (an S3 upload) is left alone: moto still has to read it, and no IAM check depends on it.
    try:
        return parsing.route(table.model_name, raw.method, raw.url, raw.headers, _body_bytes(raw))
    except parsing.NoRoute:
        raise InvalidAction(f"The sandbox could not tell which {table.model_name} operation this request is "
                            f"({raw.method} {raw.url}).") from None


def protocol_of(table: Optional[ServiceTable], signing_name: Optional[str]) -> str:
    name = table.model_name if table else signing_name
    try:
        return parsing.service_model(name).protocol if name else "query"
    except Exception:
        return "query"