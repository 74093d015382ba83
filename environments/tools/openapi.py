"""Tools from an OpenAPI 3 document: one tool per operation, called over HTTP with httpx.

Path, query and header parameters and the properties of a JSON request body become the tool's
arguments (local `$ref`s resolved). Calls have a timeout and are retried with `tenacity` on
transport errors, 429 and 5xx; any other non-2xx answer raises `ToolError` with the status and
the start of the body, which the environment shows to the model. These tools are stateless from
the search's side: what they change lives on the server and is not rolled back between branches.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from treeagent.environments.tools.schema import SchemaError, ToolSpec, args_model, normalize_schema
from treeagent.environments.tools.tools import Tool, ToolError

_METHODS = ("get", "post", "put", "patch", "delete")


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, httpx.TransportError):
        return True
    return isinstance(exc, httpx.HTTPStatusError) and (
        exc.response.status_code == 429 or exc.response.status_code >= 500
    )


class OpenAPIClient:
    """The HTTP side of an OpenAPI toolset: one `httpx.AsyncClient`, created on first use."""

    def __init__(self, base_url: str, *, timeout: float = 10.0, attempts: int = 3, headers: Mapping[str, str] = {}):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.attempts = attempts
        self.headers = dict(headers)
        self._client: httpx.AsyncClient | None = None

    async def request(self, method: str, path: str, params: dict[str, Any], headers: dict[str, str], body: Any) -> Any:
        if self._client is None:
            self._client = httpx.AsyncClient(base_url=self.base_url, timeout=self.timeout, headers=self.headers)
        client = self._client
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.attempts),
            wait=wait_exponential_jitter(multiplier=0.1, max=2.0),
            retry=retry_if_exception(_transient),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    response = await client.request(
                        method.upper(), path, params=params or None, headers=headers or None, json=body
                    )
                    if response.status_code == 429 or response.status_code >= 500:
                        response.raise_for_status()
        except httpx.HTTPStatusError as exc:
            raise ToolError(f"HTTP {exc.response.status_code}: {exc.response.text[:300]}") from None
        except httpx.TransportError as exc:
            raise ToolError(f"{method.upper()} {path} failed after {self.attempts} attempts: {exc!r}") from None
        if response.status_code >= 400:
            raise ToolError(f"HTTP {response.status_code}: {response.text[:300]}")
        return response.text  # the body as the server wrote it (JSON stays JSON)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def openapi_tools(
    document: Mapping[str, Any],
    *,
    base_url: str | None = None,
    timeout: float = 10.0,
    attempts: int = 3,
    headers: Mapping[str, str] = {},
) -> tuple[list[Tool], OpenAPIClient]:
    """The operations of `document` as tools, and the client they share (close it when done)."""
    servers = document.get("servers") or []
    url = base_url or (servers[0].get("url") if servers else None)
    if not url:
        raise SchemaError("the OpenAPI document names no server; pass base_url=")
    client = OpenAPIClient(url, timeout=timeout, attempts=attempts, headers=headers)
    tools = []
    for path, item in (document.get("paths") or {}).items():
        shared = item.get("parameters") or []
        for method in _METHODS:
            operation = item.get(method)
            if operation is not None:
                tools.append(_operation_tool(document, client, path, method, operation, shared, timeout))
    if not tools:
        raise SchemaError("the OpenAPI document has no operations under 'paths'")
    return tools, client


def _operation_tool(
    document: Mapping[str, Any],
    client: OpenAPIClient,
    path: str,
    method: str,
    operation: Mapping[str, Any],
    shared: list[Any],
    timeout: float,
) -> Tool:
    name = operation.get("operationId") or re.sub(r"\W+", "_", f"{method}_{path}").strip("_")
    properties: dict[str, Any] = {}
    required: list[str] = []
    where: dict[str, str] = {}
    for raw in [*shared, *(operation.get("parameters") or [])]:
        param = _resolve(document, raw)
        pname = str(param["name"])
        schema = dict(_resolve(document, param.get("schema") or {"type": "string"}))
        if param.get("description"):
            schema["description"] = param["description"]
        properties[pname] = schema
        where[pname] = str(param.get("in", "query"))
        if param.get("required") or where[pname] == "path":
            required.append(pname)
    body_schema = ((operation.get("requestBody") or {}).get("content") or {}).get("application/json", {}).get("schema")
    if body_schema is not None:
        body = _resolve(document, body_schema)
        for pname, prop in (body.get("properties") or {}).items():
            properties[pname] = _resolve(document, prop)
            where[pname] = "body"
        required.extend(body.get("required") or [])
    parameters = normalize_schema({"type": "object", "properties": properties, "required": required})
    description = str(operation.get("summary") or operation.get("description") or f"{method.upper()} {path}")
    spec = ToolSpec(name=name, description=description, parameters=parameters)

    async def run(_backends: Mapping[str, Any], args: dict[str, Any]) -> Any:
        url = path
        params: dict[str, Any] = {}
        headers: dict[str, str] = {}
        body: dict[str, Any] = {}
        for key, value in args.items():
            kind = where.get(key, "query")
            if kind == "path":
                url = url.replace("{" + key + "}", quote(str(value), safe=""))
            elif kind == "header":
                headers[key] = str(value)
            elif kind == "body":
                body[key] = value
            else:
                params[key] = value
        return await client.request(method, url, params, headers, body if body_schema is not None else None)

    limit = timeout * client.attempts + 2.0 * client.attempts  # every attempt and the waits between them
    return Tool(spec, args_model(name, parameters), run, timeout=limit, is_async=True)


def _resolve(document: Mapping[str, Any], node: Any) -> Any:
    """`node` with a local `$ref` ("#/components/...") followed, one level at a time."""
    seen = 0
    while isinstance(node, Mapping) and "$ref" in node:
        ref = str(node["$ref"])
        if not ref.startswith("#/") or seen > 20:
            raise SchemaError(f"unsupported or circular $ref {ref!r}: only local references are followed")
        target: Any = document
        for part in ref[2:].split("/"):
            target = target.get(part) if isinstance(target, Mapping) else None
        if target is None:
            raise SchemaError(f"$ref {ref!r} points at nothing in the document")
        node = target
        seen += 1
    return node
