"""The HTTP face of the portal: routing, auth, the leaky bucket, injected faults and the answer envelope.

Paths:
  /rest/{user_id}/{secret}/{method}[.json]   webhook calls
  /rest/api/{user_id}/{secret}/{method}      REST 3.0 (JSON body only; the query string is ignored)
  /rest/{method}[.json]?auth=TOKEN           OAuth calls (auth in the query or the body)
  /oauth/token/?grant_type=refresh_token&... the OAuth server's refresh grant
"""
from __future__ import annotations

import json
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from b24mirror.fakeportal import batch, dispatch
from b24mirror.fakeportal.errors import RestError
from b24mirror.fakeportal.params import build, parse_query

if TYPE_CHECKING:  # pragma: no cover
    from b24mirror.fakeportal.portal import FakePortal

HTML_ERROR = (b"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center>"
              b"<hr><center>nginx</center></body></html>")


class _Drop(Exception):
    """Close the connection without a byte of answer."""


class Handler(BaseHTTPRequestHandler):
    server_version = "nginx"
    sys_version = ""
    portal: "FakePortal"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read portal.request_log instead
        pass

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    # ---- plumbing ------------------------------------------------------------------------------------
    def _send(self, status: int, body: Any, content_type: str = "application/json; charset=utf-8") -> None:
        data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (a slow answer): nothing to do
            pass

    def _drop(self) -> None:
        """RST the connection: linger 0 then close, so the client sees a reset, not an answer."""
        try:
            self.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.request.close()
        except OSError:
            pass
        self.close_connection = True

    def _read_params(self, query: str, v3: bool) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        params: Any = {} if v3 else parse_query(query)
        if not raw:
            return params
        if ctype == "application/json" or (v3 and ctype != "application/x-www-form-urlencoded"):
            try:
                body = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                raise RestError("INVALID_REQUEST", "Invalid JSON body", 400) from None
            if isinstance(body, list):  # a positional argument list (task.commentitem.* in JSON)
                return body
            if isinstance(body, dict):
                params.update(body)
            return params
        params.update(build(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)))
        return params

    # ---- one request -------------------------------------------------------------------------------------
    def _handle(self) -> None:
        p = self.portal
        with p.lock:
            p.stats.requests += 1
        started, t0 = p.now_ts(), time.perf_counter()
        url = urlsplit(self.path)
        parts = [s for s in url.path.split("/") if s]
        try:
            if parts[:2] == ["oauth", "token"]:
                self._oauth(url.query)
                return
            if not parts or parts[0] != "rest" or len(parts) < 2:
                raise RestError("ERROR_METHOD_NOT_FOUND", "Method not found!", 404)
            v3 = parts[1] == "api"
            route = parts[2:] if v3 else parts[1:]
            params = self._read_params(url.query, v3)
            caller, name = self._auth(route, params, v3)
            if isinstance(params, dict):
                params = {k: v for k, v in params.items() if str(k).lower() != "auth"}
            self._limited()
            with p.lock:  # one seeded random stream, shared by every handler thread
                fault = p.faults.pick(name, params)
            if fault is not None:
                with p.lock:
                    p.stats.faults_injected += 1
                    p.stats.faults_by_kind[fault.kind] += 1
                if fault.kind == "503":
                    raise RestError("QUERY_LIMIT_EXCEEDED", "Too many requests", 503)
                if fault.kind == "500":
                    raise RestError("INTERNAL_SERVER_ERROR", "Internal server error", 500)
                if fault.kind == "html":
                    self._send(502, HTML_ERROR, "text/html; charset=utf-8")
                    return
                if fault.kind == "reset":
                    raise _Drop()
            try:
                body = self._run(caller, name, params, started, t0)
            except RestError:
                if fault is not None and fault.kind == "lost_response":
                    raise _Drop() from None
                raise
            if fault is not None and fault.kind == "lost_response":
                raise _Drop()  # applied, but the answer never leaves
            if fault is not None and fault.kind == "hold":
                fault.reached.set()
                fault.released.wait(timeout=120)  # a test that never releases must not hang the server
            if fault is not None and fault.kind == "slow":
                time.sleep(fault.seconds)  # real seconds: this is about the client's real timeout
            self._send(200, body)
        except _Drop:
            self._drop()
        except RestError as exc:
            self._send(exc.status, exc.body())

    def _run(self, caller: dispatch.Caller, name: str, params: Any, started: float, t0: float) -> dict:
        p = self.portal
        if name == "batch" and not caller.v3:
            with p.lock:
                p.log_call("batch", params, caller.user_id, False, None)
                result = batch.run(p, caller, params)
            return {"result": result, "time": p.time_block(started, time.perf_counter() - t0)}
        reply = dispatch.call(p, caller, name, params)
        body: dict = {"result": reply.result}
        if reply.next is not None:
            body["next"] = reply.next
        if reply.total is not None:
            body["total"] = reply.total
        body["time"] = p.time_block(started, time.perf_counter() - t0, reply.operating)
        return body

    def _auth(self, route: list[str], params: Any, v3: bool) -> tuple[dispatch.Caller, str]:
        p = self.portal
        if len(route) == 3:  # {user_id}/{secret}/{method}
            uid_text, secret, name = route
            hook = p.webhooks.get(secret)
            if hook is None or str(hook.user_id) != uid_text or not p.users[hook.user_id].active:
                raise RestError("NO_AUTH_FOUND", "Wrong authorization data", 401)
            return dispatch.Caller(hook.user_id, hook.scopes, f"webhook:{secret}", v3), _method(name)
        if len(route) == 1 and not v3:
            token_text = params.get("auth") if isinstance(params, dict) else None
            token = p.tokens.get(str(token_text or ""))
            if token is None:
                raise RestError("NO_AUTH_FOUND", "Wrong authorization data", 401)
            if token.expires <= p.now_ts():
                raise RestError("expired_token", "The access token provided has expired.", 401)
            return dispatch.Caller(token.user_id, token.scopes, f"app:{token.client_id}"), _method(route[0])
        raise RestError("ERROR_METHOD_NOT_FOUND", "Method not found!", 404)

    def _limited(self) -> None:
        p = self.portal
        if p.bucket is None:
            return
        with p.lock:
            if not p.bucket.take(p.now_ts()):
                p.stats.rejected_503 += 1  # a refused request adds nothing to the bucket
                raise RestError("QUERY_LIMIT_EXCEEDED", "Too many requests", 503)

    def _oauth(self, query: str) -> None:
        params = dict(parse_qsl(query, keep_blank_values=True))
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            params.update(parse_qsl(self.rfile.read(length).decode("utf-8", "replace"), keep_blank_values=True))
        if params.get("grant_type") != "refresh_token":
            raise RestError("invalid_request", "Unsupported grant_type", 400)
        reply = self.portal.refresh(params.get("client_id", ""), params.get("client_secret", ""),
                                    params.get("refresh_token", ""))
        self._send(200, reply)


def _method(segment: str) -> str:
    name = segment[:-5] if segment.lower().endswith(".json") else segment
    return name.lower()


class PortalServer:
    """A running server: .port, .base_url, .webhook_url(uid, secret), .shutdown(); a context manager."""

    def __init__(self, portal: "FakePortal", host: str = "127.0.0.1", port: int = 0):
        handler = type("BoundHandler", (Handler,), {"portal": portal})
        self.portal = portal
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self.host = host
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), name=f"fakeportal:{self.port}", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def webhook_url(self, uid: int, secret: str) -> str:
        return f"{self.base_url}/rest/{uid}/{secret}/"

    def start(self) -> "PortalServer":
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.httpd.serve_forever()

    def shutdown(self) -> None:
        if self._thread.is_alive():
            self.httpd.shutdown()
            self._thread.join(timeout=5)
        self.httpd.server_close()

    def __enter__(self) -> "PortalServer":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.shutdown()


def serve(portal: "FakePortal", port: int = 0, host: str = "127.0.0.1") -> PortalServer:
    """Start the portal's HTTP server in a daemon thread."""
    return PortalServer(portal, host, port).start()
