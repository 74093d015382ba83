"""Tools from an OpenAPI document, called over real HTTP (a local server in a thread)."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlparse

import pytest

from treeagent.environments.base import Task
from treeagent.environments.tools import SchemaError, ToolAction, ToolEnv
from treeagent.environments.tools.openapi import openapi_tools

DOC: dict[str, Any] = {
    "openapi": "3.0.0",
    "info": {"title": "pets", "version": "1"},
    "paths": {
        "/pets/{pet_id}": {
            "parameters": [{"name": "pet_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
            "get": {"operationId": "get_pet", "summary": "One pet by id."},
        },
        "/pets": {
            "get": {
                "operationId": "list_pets",
                "summary": "List pets.",
                "parameters": [{"name": "kind", "in": "query", "schema": {"$ref": "#/components/schemas/Kind"}}],
            },
            "post": {
                "operationId": "add_pet",
                "summary": "Add a pet.",
                "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}}},
            },
        },
        "/flaky": {"get": {"operationId": "flaky", "summary": "Fails once with 503, then works."}},
        "/slow": {"get": {"operationId": "slow", "summary": "Answers after 2 s."}},
    },
    "components": {
        "schemas": {
            "Kind": {"type": "string", "enum": ["cat", "dog"]},
            "Pet": {
                "type": "object",
                "properties": {"name": {"type": "string"}, "kind": {"$ref": "#/components/schemas/Kind"}},
                "required": ["name", "kind"],
            },
        }
    },
}


class PetServer(BaseHTTPRequestHandler):
    pets: ClassVar[list[dict[str, Any]]] = [{"id": 1, "name": "Tom", "kind": "cat"}]
    hits: ClassVar[dict[str, int]] = {}

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        url = urlparse(self.path)
        self.hits[url.path] = self.hits.get(url.path, 0) + 1
        if url.path == "/flaky":
            return self._send(503 if self.hits[url.path] == 1 else 200, {"ok": self.hits[url.path]})
        if url.path == "/slow":
            import time

            time.sleep(2)
            return self._send(200, {})
        if url.path == "/pets":
            kind = parse_qs(url.query).get("kind", [None])[0]
            return self._send(200, [p for p in self.pets if kind in (None, p["kind"])])
        pet_id = int(url.path.rsplit("/", 1)[-1])
        found = [p for p in self.pets if p["id"] == pet_id]
        return self._send(200, found[0]) if found else self._send(404, {"error": f"no pet {pet_id}"})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        pet = {"id": len(self.pets) + 1, **body}
        self.pets.append(pet)
        self._send(201, pet)


class QuietServer(ThreadingHTTPServer):
    """Says nothing when a client hangs up first (the /slow test times out on purpose): a handler
    thread outlives its test and would print a traceback into whatever test runs next."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@pytest.fixture
def server() -> Iterator[str]:
    httpd = QuietServer(("127.0.0.1", 0), PetServer)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


async def test_openapi_operations_become_tools_called_over_http(server: str) -> None:
    tools, client = openapi_tools(DOC, base_url=server, timeout=0.5, attempts=3)
    env = ToolEnv(tools, resources=[client])
    assert sorted(env.toolbox.names()) == ["add_pet", "flaky", "get_pet", "list_pets", "slow"]
    add = env.toolbox.get("add_pet")
    assert add is not None and add.spec.parameters["required"] == ["name", "kind"]
    assert add.spec.parameters["properties"]["kind"]["enum"] == ["cat", "dog"]
    try:
        root = await env.reset(Task(id="pets", prompt="add a dog"))
        got = await env.step(root.state, ToolAction.call("get_pet", pet_id=1))
        assert json.loads(got.observation) == {"id": 1, "name": "Tom", "kind": "cat"}
        added = await env.step(root.state, ToolAction.call("add_pet", name="Rex", kind="dog"))
        assert json.loads(added.observation)["name"] == "Rex"
        dogs = await env.step(root.state, ToolAction.call("list_pets", kind="dog"))
        assert [p["name"] for p in json.loads(dogs.observation)] == ["Rex"]
        missing = await env.step(root.state, ToolAction.call("get_pet", pet_id=99))
        assert missing.observation == 'Error during execution: HTTP 404: {"error": "no pet 99"}'
        invalid = await env.step(root.state, ToolAction.call("add_pet", name="Rex", kind="horse"))
        assert invalid.info["rejected"] and "kind" in invalid.observation
        flaky = await env.step(root.state, ToolAction.call("flaky"))
        assert json.loads(flaky.observation) == {"ok": 2}  # the 503 was retried
        slow = await env.step(root.state, ToolAction.call("slow"))
        assert slow.observation.startswith("Error during execution: GET /slow failed after 3 attempts")
    finally:
        await env.close()


def test_documents_without_server_or_with_foreign_refs_are_refused() -> None:
    with pytest.raises(SchemaError, match="names no server"):
        openapi_tools({"paths": {"/x": {"get": {}}}})
    foreign = {"paths": {"/x": {"get": {"parameters": [{"$ref": "other.yaml#/p"}]}}}}
    with pytest.raises(SchemaError, match="only local references"):
        openapi_tools(foreign, base_url="http://127.0.0.1:1")
