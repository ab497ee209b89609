"""Which service a request is for, decided as AWS decides it: by the endpoint its host names.

On AWS a request reaches a service because its host is one of that service's endpoints, named as botocore's
endpoint data names them (``iam.amazonaws.com``, ``sts.us-east-1.amazonaws.com``, ``ec2.<region>.amazonaws.com``,
``api.ecr.<region>.amazonaws.com``, ``<bucket>.s3.<region>.amazonaws.com``...). The request's SigV4 credential scope
must name the same service, or the service refuses the signature; a JSON protocol's ``X-Amz-Target`` names an
operation of that service only. moto answers by its own URL patterns instead, matched in turn against the whole
URL, and those patterns overlap (``iam.s3.amazonaws.com``, a bucket called ``iam``, matches IAM's first; a path
that IAM's patterns do not know falls through to SQS's). A request whose host, signature and moto's routing do not
agree on one service could be judged as one service and answered by another, so ``resolve()`` refuses it before
anything reads it further. The gatehouse and the served account both ask ``resolve()``; nothing else decides.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Optional
from urllib.parse import parse_qsl, urlsplit

__all__ = ["Route", "Misrouted", "resolve", "moto_service", "host_service", "credential_service"]

_SUFFIX = "amazonaws.com"
# A bucket in a virtual-hosted-style address: S3's bucket naming rules (lowercase letters, digits, dots, hyphens).
_BUCKET = r"(?P<bucket>[a-z0-9][a-z0-9.\-]*[a-z0-9])\."
# Endpoint names AWS gives a service besides the ones botocore's data spells out. ECR's API answers at
# ``ecr.<region>.amazonaws.com`` as well as ``api.ecr.<region>.amazonaws.com`` (AWS General Reference, Amazon ECR
# endpoints), and moto serves both.
_ALSO = {"ecr": ("ecr.{region}.amazonaws.com",)}


@dataclass(frozen=True)
class Route:
    """The one service a request is for (its signing name), and the region its host names, if any."""

    service: str
    region: Optional[str] = None


class Misrouted(Exception):
    """A request whose host, signature and routing do not name one service.

    ``service`` is the service its host names (its protocol is the one to answer in), ``code`` and ``message`` are
    AWS's words where AWS has some for the fault (a signature scoped to another service), else the sandbox's.
    """

    def __init__(self, message: str, *, service: Optional[str] = None, code: Optional[str] = None,
                 status: int = 400) -> None:
        super().__init__(message)
        self.message, self.service, self.code, self.status = message, service, code, status


# --------------------------------------------------------------------------------------------------------------
# The names AWS gives each service's endpoints


@functools.lru_cache(maxsize=None)
def _partition() -> dict:
    import botocore.loaders

    data = botocore.loaders.create_loader().load_data("endpoints")
    return next(p for p in data["partitions"] if p["partition"] == "aws")


@functools.lru_cache(maxsize=None)
def _model(name: str) -> Any:
    from moto.core.utils import get_service_model

    return get_service_model(name)


@functools.lru_cache(maxsize=None)
def _host_pattern(service: str, model_name: str) -> "re.Pattern":
    """Every host name of ``service``'s endpoints in the ``aws`` partition, as one pattern.

    From botocore's endpoint data: the partition's default ``{service}.{region}.{dnsSuffix}`` (``service`` being the
    model's endpoint prefix), each endpoint's own hostname (the global ``iam.amazonaws.com``, ``sts.amazonaws.com``,
    ``s3.amazonaws.com``, the FIPS ones) and the service's hostname variants (S3's dual-stack names); a service the
    data marks as not regionalized (IAM) has its named endpoints only. An S3 host may carry a bucket in front
    (virtual-hosted-style addressing).
    """
    partition = _partition()
    prefix = _model(model_name).endpoint_prefix
    region = partition["regionRegex"].strip("^$")
    entry = partition["services"].get(prefix, {})
    # A global service (IAM) has only the endpoints the data names; a regional one has one per region as well.
    templates = set() if entry.get("isRegionalized") is False else {partition["defaults"]["hostname"]}
    for variant in (entry.get("defaults") or {}).get("variants", []):
        if variant.get("dnsSuffix", _SUFFIX) == _SUFFIX and "hostname" in variant:
            templates.add(variant["hostname"])
    for endpoint in entry.get("endpoints", {}).values():
        if endpoint.get("hostname"):
            templates.add(endpoint["hostname"])
    templates.update(_ALSO.get(service, ()))
    alternatives = []
    for n, template in enumerate(sorted(templates)):
        text = re.escape(template.replace("{dnsSuffix}", _SUFFIX).replace("{service}", prefix))
        alternatives.append(text.replace(re.escape("{region}"), f"(?P<region{n}>{region})"))
    body = "|".join(f"(?:{a})" for a in alternatives)
    if service == "s3":
        return re.compile(f"(?:{_BUCKET})?(?:{body})")
    return re.compile(body)


def host_service(host: str, services: Mapping[str, str]) -> Optional[Route]:
    """The service of ``services`` (signing name -> botocore model) whose endpoint ``host`` is, if any."""
    host = (host or "").lower().rstrip(".")
    for service, model_name in services.items():
        found = _host_pattern(service, model_name).fullmatch(host)
        if found:
            region = next((v for k, v in found.groupdict().items() if k.startswith("region") and v), None)
            return Route(service, region)
    return None


# --------------------------------------------------------------------------------------------------------------
# Where moto would send it


@functools.lru_cache(maxsize=None)
def _backend_urls(service: str) -> tuple:
    import moto.backends as backends
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.core.base_backend import BackendDict

    backend_dict = backends.get_backend(service)  # type: ignore[call-overload]
    if isinstance(backend_dict, BackendDict):
        regions = backend_dict[DEFAULT_ACCOUNT_ID]
        backend = regions["us-east-1"] if "us-east-1" in regions else regions["aws"]
    else:
        backend = backend_dict["global"]
    return tuple(re.compile(url) for url in backend.urls)


def moto_service(url: str) -> Optional[str]:
    """The moto backend that would answer ``url``: the first whose URL pattern and one of whose URLs match it.

    This is moto's own walk (``BotocoreStubber.process_request``), step for step: a backend whose pattern matches
    but none of whose URLs does is passed over, and the next pattern is tried.
    """
    from moto.core.utils import get_equivalent_url_in_aws_domain

    parsed, _ = get_equivalent_url_in_aws_domain(url)
    return _moto_service_of(f"{parsed.scheme}://{parsed.netloc}{parsed.path}")


@functools.lru_cache(maxsize=4096)
def _moto_service_of(clean: str) -> Optional[str]:
    """moto's walk for one URL without its query: the same URL always goes to the same backend, so it is walked once
    (some 150 patterns; a chapter calls the same few URLs again and again)."""
    from moto.backend_index import backend_url_patterns

    for service, pattern in backend_url_patterns:
        if pattern.match(clean) and any(url_pattern.match(clean) for url_pattern in _backend_urls(service)):
            return service
    return None


# --------------------------------------------------------------------------------------------------------------
# What the request itself says


def _header(headers: Any, name: str) -> Optional[str]:
    value = headers.get(name) if hasattr(headers, "get") else None
    if value is None and hasattr(headers, "items"):
        value = next((v for k, v in headers.items() if str(k).lower() == name.lower()), None)
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return value


def credential_service(url: str, headers: Any) -> Optional[str]:
    """The service named in the SigV4 credential scope (``Credential=AKID/date/region/SERVICE/aws4_request``)."""
    auth = _header(headers, "Authorization")
    credential = None
    if auth and "Credential=" in auth:
        credential = auth.split("Credential=", 1)[1].split(",", 1)[0].strip()
    elif not auth:
        credential = dict(parse_qsl(urlsplit(url).query)).get("X-Amz-Credential")
    parts = (credential or "").split("/")
    return parts[3] if len(parts) == 5 and parts[3] else None


def _form(body: Any, headers: Any) -> list:
    content_type = _header(headers, "Content-Type") or ""
    if not content_type.startswith("application/x-www-form-urlencoded"):
        return []
    if isinstance(body, (bytes, bytearray)):
        body = bytes(body).decode("utf-8", "replace")
    return parse_qsl(body, keep_blank_values=True) if isinstance(body, str) else []


def _signature_words(service: str, signed_for: str, protocol: str) -> tuple:
    """AWS's answer to a signature scoped to another service than the endpoint's, in the endpoint's protocol."""
    if protocol == "rest-xml":  # S3
        return ("AuthorizationHeaderMalformed", f'The authorization header is malformed; incorrect service '
                f'"{signed_for}". This endpoint belongs to "{service}".', 400)
    message = f"Credential should be scoped to correct service: '{service}'. "
    if protocol in ("json", "rest-json"):
        return "InvalidSignatureException", message, 400
    return "SignatureDoesNotMatch", message, 403


# --------------------------------------------------------------------------------------------------------------
# The decision


def resolve(method: str, url: str, headers: Any, body: Any, services: Mapping[str, str],
            outside: Iterable[str] = ()) -> Optional[Route]:
    """The one service the request is for, or ``None`` when it is no AWS call moto would answer.

    ``services`` maps the signing name of each service the sandbox runs to its botocore model. A request signed
    for a service outside them, at that service's own endpoint, resolves to it (so that the caller can refuse it
    by name). Raises ``Misrouted`` when the host names no endpoint of a service the sandbox runs (though moto would
    answer it), when moto would send it to another service than its host names, when its signature is scoped to
    another service, or when its operation belongs to another service.
    """
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    named = host_service(host, services) if parts.netloc.lower() == host else None
    moto = moto_service(url)
    signed_for = credential_service(url, headers)
    if named is None:
        if moto is None:
            return None  # not an address moto answers: the network guard decides
        other = _outside_service(host, signed_for)
        if other is not None:
            return other
        raise Misrouted(f"{parts.netloc} is not the endpoint of any service the sandbox runs, as AWS names them "
                        f"({', '.join(sorted(services))}), so the sandbox refuses the request rather than let "
                        "another service answer it.", service=signed_for if signed_for in services else None)
    if moto != named.service:
        raise Misrouted(f"{host} is an endpoint of {named.service}, but the mock account would hand the request "
                        f"({method} {parts.path or '/'}) to {moto or 'no service'}; the sandbox refuses it rather "
                        f"than answer it as {moto or 'nothing'}. (A bucket whose name is also a service's endpoint "
                        "prefix is reached with path-style addressing: addressing_style 'path'.)",
                        service=named.service)
    model = _model(services[named.service])
    if signed_for is not None and signed_for != named.service:
        code, message, status = _signature_words(named.service, signed_for, model.protocol)
        raise Misrouted(message, service=named.service, code=code, status=status)
    _check_operation(named.service, model, url, headers, body)
    return named


def _outside_service(host: str, signed_for: Optional[str]) -> Optional[Route]:
    """A request signed for a service the sandbox does not run, at one of that service's own endpoints."""
    if not signed_for or not re.fullmatch(r"[a-z0-9-]+", signed_for):
        return None
    try:
        prefix = _model(signed_for).endpoint_prefix
    except Exception:  # no botocore model by that name
        prefix = signed_for
    region = _partition()["regionRegex"].strip("^$")
    for name in {prefix, signed_for}:
        found = re.fullmatch(rf"{re.escape(name)}(?:\.({region}))?\.amazonaws\.com", host)
        if found:
            return Route(signed_for, found.group(1))
    return None


def _check_operation(service: str, model: Any, url: str, headers: Any, body: Any) -> None:
    """The operation the request names must be one of the host's service: a JSON target, a query Action."""
    protocol = model.protocol
    if protocol in ("json",):
        target = _header(headers, "X-Amz-Target")
        if target is not None:
            prefix, _, operation = target.rpartition(".")
            if prefix != model.metadata.get("targetPrefix") or operation not in model.operation_names:
                raise Misrouted(f"The X-Amz-Target {target!r} names no operation of {service}.", service=service,
                                code="UnknownOperationException")
    elif protocol in ("query", "ec2"):
        actions = {v for k, v in parse_qsl(urlsplit(url).query, keep_blank_values=True) if k == "Action"}
        actions |= {v for k, v in _form(body, headers) if k == "Action"}
        if len(actions) > 1:
            raise Misrouted(f"The request names more than one Action ({', '.join(sorted(actions))}); a call to "
                            f"{service} names one.", service=service, code="InvalidAction")
