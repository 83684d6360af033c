"""batch (rest_provider.php methodsBatch, CRestUtil::processBatchElement), the REST core (rest.php processCall,
getDescription) and groups (socialnetwork classes/general/rest.php), as the platform's source has them."""
from __future__ import annotations

from .conftest import Http


def _batch(api, cmd, **extra):
    status, body = api.call("batch", {"cmd": cmd, **extra})
    assert status == 200, body
    return body["result"]


def test_batch_runs_the_first_50_and_refuses_each_one_beyond(portal, api):
    r = _batch(api, {f"c{i}": "profile" for i in range(53)})
    assert len(r["result"]) == 50 and set(r["result_error"]) == {"c50", "c51", "c52"}
    assert r["result_error"]["c52"] == {"error": "ERROR_BATCH_LENGTH_EXCEEDED",
                                        "error_description": "Max batch length exceeded"}
    halted = _batch(api, {f"c{i}": "profile" for i in range(53)}, halt=1)
    assert set(halted["result_error"]) == {"c50"}  # halt stops at the first refusal


def test_batch_halt_is_php_truthiness(portal, api):
    cmd = {"bad": "tasks.task.list?order[NOPE]=asc", "ok": "profile"}
    for halt, stops in (("false", True), ("N", True), ("0", False), ("", False), (0, False), (True, True)):
        r = _batch(api, cmd, halt=halt)
        assert ("ok" not in r["result"]) == stops, halt


def test_batch_failed_commands_have_no_time(portal, api):
    r = _batch(api, {"bad": "tasks.task.list?order[NOPE]=asc", "ok": "profile"})
    assert set(r["result_time"]) == {"ok"} and set(r["result_error"]) == {"bad"}


def test_batch_references_to_every_part(portal, api):
    for i in range(55):
        portal.add_task(f"T{i}", created_by=portal.admin, group_id=portal.gid)
    r = _batch(api, {
        "page": f"tasks.task.list?filter[GROUP_ID]={portal.gid}&select[]=ID",
        "bad": "tasks.task.list?order[NOPE]=asc",
        "next": "tasks.task.list?select[]=ID&start=$next[page]",
        "total": "user.get?ID=$total[page]",
        "err": "user.get?NAME=$error[bad][error]",
        "when": "user.get?NAME=$time[page][start]"})
    assert r["result_total"]["next"] == 58 and len(r["result"]["next"]["tasks"]) == 8  # start=50 took effect
    assert r["result_total"]["total"] == 0  # ID=58: no such user, but the reference resolved
    assert r["result_total"]["err"] == 0 and r["result_total"]["when"] == 0
    log = {e.params.get("ID") or e.params.get("NAME") or e.params.get("start"): e.method
           for e in portal.request_log if isinstance(e.params, dict) and e.in_batch}
    assert {"50", "58", "0"} <= set(map(str, log))


def test_batch_unresolved_reference_takes_the_partial_value(portal, api):
    r = _batch(api, {"me": "user.current", "who": "user.get?ID=$result[me][NO_SUCH_KEY]",
                     "glued": "user.get?NAME=x$result[me][NAME]tail"})
    who = [e for e in portal.request_log if e.method == "user.get"]
    assert isinstance(who[0].params["ID"], dict) and who[0].params["ID"]["ID"] == str(portal.admin)
    assert who[1].params["NAME"] == "xAnna"  # the match runs to the next space: 'tail' goes with it
    assert r["result"]["glued"] == []


def test_batch_cmd_keyed_0_to_n_answers_lists(portal, api):
    r = _batch(api, {"0": "profile", "1": "user.current"})
    assert isinstance(r["result"], list) and isinstance(r["result_time"], list) and len(r["result"]) == 2
    named = _batch(api, {"a": "profile"})
    assert isinstance(named["result"], dict)


def test_start_never_reaches_a_positional_method(portal, api):
    cid = portal.add_comment(portal.classic, portal.admin, "hi")
    status, body = api.call("task.commentitem.get", {"start": 50, "TASKID": portal.classic, "ITEMID": cid})
    assert status == 200 and body["result"]["ID"] == str(cid)


def test_global_methods_exist_for_every_webhook(portal, server):
    bob = Http(server.webhook_url(portal.bob, portal.bob_secret))  # scopes task, im only
    assert sorted(bob.call("scope")[1]["result"]) == ["im", "task"]
    methods = bob.call("methods")[1]["result"]
    assert {"batch", "scope", "methods", "method.get", "server.time", "tasks.task.list"} <= set(methods)
    assert "user.get" not in methods
    assert bob.call("method.get", {"name": "user.get"})[1]["result"] == {"isExisting": True, "isAvailable": False}
    assert bob.call("method.get", {"name": "no.such"})[1]["result"] == {"isExisting": False, "isAvailable": False}
    assert bob.call("server.time")[1]["result"] == portal.iso(portal.now_ts())


def test_unknown_method_is_404(portal, api):
    status, body = api.call("no.such.method")
    assert (status, body) == (404, {"error": "ERROR_METHOD_NOT_FOUND", "error_description": "Method not found!"})


def test_group_members_by_relation_id_roles_a_e_k(portal, api):
    late = portal.add_user("Late", "Joiner")
    asker = portal.add_user("Asks", "ToJoin")
    portal.add_member(portal.gid, late, "E")
    portal.add_member(portal.gid, asker, "Z")
    portal.add_member(portal.gid, portal.eve)  # a lower user id, a later relation
    portal.add_member(portal.gid, portal.bob, "E")  # a new role keeps the old relation
    rows = api.call("sonet_group.user.get", {"ID": portal.gid})[1]["result"]
    assert rows == [{"USER_ID": str(portal.admin), "ROLE": "A"}, {"USER_ID": str(portal.bob), "ROLE": "E"},
                    {"USER_ID": str(portal.ext), "ROLE": "K"}, {"USER_ID": str(late), "ROLE": "E"},
                    {"USER_ID": str(portal.eve), "ROLE": "K"}]


def test_a_group_you_cannot_see_is_not_found(portal, api, eve_api, server):
    portal.groups[portal.gid].visible = False
    eve = Http(server.webhook_url(portal.eve, portal.add_webhook(portal.eve, scopes=("sonet_group",))))
    status, body = eve.call("sonet_group.user.get", {"ID": portal.gid})
    assert (status, body) == (400, {"error": "", "error_description": "Socialnetwork group not found"})
    assert api.call("sonet_group.user.get", {"ID": portal.gid})[0] == 200


def test_sonet_group_get_defaults_to_id_descending(portal, api):
    other = portal.add_group("Second", owner_id=portal.admin)
    rows = api.call("sonet_group.get")[1]["result"]
    assert [r["ID"] for r in rows] == [str(other), str(portal.gid)]
