"""moto's service models, routers and protocol parsers, as the gatehouse reads a request with them.

The gatehouse must read a request exactly as moto will answer it; these are moto's own pieces, behind three calls.
"""

from __future__ import annotations

import functools
from typing import Any, Optional

__all__ = ["service_model", "operation_names", "parse", "route", "NoRoute"]


class NoRoute(Exception):
    """moto's router for the service matches no operation to the request."""


@functools.lru_cache(maxsize=None)
def service_model(name: str) -> Any:
    """botocore's model of a service. moto builds a new one on every call, and with it every operation model."""
    from moto.core.utils import get_service_model

    return get_service_model(name)


@functools.lru_cache(maxsize=None)
def operation_names(name: str) -> frozenset:
    return frozenset(service_model(name).operation_names)


def parse(model_name: str, operation: str, method: str, values: Any, body: bytes) -> dict:
    """The parameters of a query, EC2 or JSON request whose operation is known, as moto's parser reads them."""
    from moto.core.parse import PROTOCOL_PARSERS

    model = service_model(model_name)
    parser = PROTOCOL_PARSERS[model.protocol](model.operation_model(operation))
    params = parser.parse({"method": method, "values": values, "headers": {}, "body": body,
                           "url_path": "/", "url_params": {}})
    return dict(params or {})


def route(model_name: str, method: str, url: str, headers: Any, body: Optional[bytes]) -> tuple:
    """(operation name, parameters) of any request to the service, through moto's router and protocol parser."""
    from moto.core.parse import PROTOCOL_PARSERS
    from moto.core.request import Request as MotoRequest
    from moto.core.request import determine_request_protocol
    from moto.core.routing import get_service_router

    request = MotoRequest.from_primitives(method, url, headers, b"" if body is None else body)
    try:
        operation, uri_params = get_service_router(model_name).match(request)
    except Exception:
        raise NoRoute(model_name) from None
    protocol = determine_request_protocol(service_model(model_name), request.content_type)
    parser = PROTOCOL_PARSERS[protocol](operation)
    params = parser.parse({"method": request.method, "values": request.values, "headers": request.headers,
                           "body": request.data, "url_path": request.path, "url_params": uri_params})
    return operation.name, dict(params or {})
