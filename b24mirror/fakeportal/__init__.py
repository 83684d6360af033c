"""A Bitrix24 portal emulator for tests and benchmarks: an in-memory model behind a real HTTP server.

    from b24mirror.fakeportal import FakePortal, serve
    p = FakePortal(seed=0)
    uid = p.add_user("Anna", "Petrova", admin=True)
    secret = p.add_webhook(uid)
    with serve(p) as srv:
        url = srv.webhook_url(uid, secret)   # http://127.0.0.1:PORT/rest/UID/SECRET/

Standard library only. See portal.py for the readings taken where the Bitrix24 docs are silent."""
from b24mirror.fakeportal.portal import FakePortal
from b24mirror.fakeportal.server import PortalServer, serve

__all__ = ["FakePortal", "PortalServer", "serve"]
