"""python -m b24mirror.fakeportal --port N [--seed FILE] [--limits standard|enterprise] [--time-scale X]
                                 [--activity SECONDS] [--reading NAME[=VALUE]]... [--list-readings]

Prints the webhook base URL (http://127.0.0.1:N/rest/USER_ID/SECRET/) as the first line, then serves
until killed. On stderr: the webhooks of people (what they post through them is mirrored; the first
webhook's own posts are not), and with --activity what the seeded people do."""
from __future__ import annotations

import argparse
import json
import sys
import threading

from b24mirror.fakeportal import readings
from b24mirror.fakeportal.activity import Activity
from b24mirror.fakeportal.demo import build_demo_portal
from b24mirror.fakeportal.portal import FakePortal
from b24mirror.fakeportal.server import PortalServer


def _log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m b24mirror.fakeportal", description="Serve a fake Bitrix24 portal.")
    ap.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0: any free port)")
    ap.add_argument("--seed", metavar="FILE", help="YAML/JSON seed file (default: the built-in demo portal)")
    ap.add_argument("--demo-seed", type=int, default=0, help="random seed of the demo portal")
    ap.add_argument("--limits", choices=("standard", "enterprise"), default=None,
                    help="enforce cloud limits (leaky bucket, operating time); off by default")
    ap.add_argument("--time-scale", type=float, default=1.0, help="portal seconds per real second")
    ap.add_argument("--operating-cost", type=float, default=0.0, help="operating seconds charged per call")
    ap.add_argument("--operating-limit", type=float, default=480.0, help="operating seconds per method per 10 min")
    ap.add_argument("--info", action="store_true", help="print the portal info as JSON on the second line")
    ap.add_argument("--reading", action="append", default=[], metavar="NAME[=VALUE]",
                    help="take another reading where the platform is not settled (repeatable); a bare NAME takes "
                         "its one non-default value. See --list-readings")
    ap.add_argument("--activity", type=float, metavar="SECONDS", default=None,
                    help="every SECONDS, a member of the group comments, changes a status or moves a deadline")
    ap.add_argument("--list-readings", action="store_true", help="list the readings, their values and defaults")
    args = ap.parse_args(argv)
    if args.list_readings:
        for r in readings.READINGS.values():
            print(f"{r.name}: {' | '.join(r.values)} (default {r.default}) - {r.why}")
        return 0
    try:
        chosen = readings.resolve(args.reading)
    except ValueError as exc:
        ap.error(str(exc))
    kwargs = dict(limits=args.limits, time_scale=args.time_scale, operating_cost=args.operating_cost,
                  operating_limit=args.operating_limit, readings=chosen)
    if args.seed:
        portal, info = FakePortal.from_file(args.seed, **kwargs)
    else:
        portal, info = build_demo_portal(args.demo_seed, **kwargs)
    server = PortalServer(portal, port=args.port)
    print(server.webhook_url(info["user_id"], info["secret"]), flush=True)
    if args.info:
        print(json.dumps(info), flush=True)
    for hook in info.get("people_webhooks", []):
        print(f"a person's webhook (user {hook['user_id']}; what it posts is mirrored): "
              f"{server.webhook_url(hook['user_id'], hook['secret'])}", file=sys.stderr, flush=True)
    stop = threading.Event()
    if args.activity:
        people = Activity(portal, info["group_id"], info["master_task_id"], info["user_id"], seed=args.demo_seed)
        threading.Thread(target=people.run_every, args=(args.activity, stop, _log), daemon=True).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        server.httpd.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
