"""The status report phase: when a period has ended, post its report into the master, once.

policy/report.py says when one is due and what it says; this phase reads what it needs (the group's
tasks and their history, only when a report is due: a run with none due sends nothing), looks in the
master for the period's token before posting (a lost state), and after a lost answer reads the master
back instead of posting again.
"""
from __future__ import annotations

from b24mirror import bitrix
from b24mirror.policy.models import parse_date
from b24mirror.policy.plan import people, subtree_verdict
from b24mirror.policy.render.report import render_report
from b24mirror.policy.report import due, facts, reported_ends, token
from b24mirror.portal import q_history
from b24mirror.stopping import write_in_flight
from b24mirror.sync.apply import posted_id
from b24mirror.sync.common import Context, describe, log
from b24mirror.sync.records import GroupRun

META = "report"  # group meta: {"last": end of the last period reported (unix seconds), "id": its comment's id}


def post_report(ctx: Context, run: GroupRun) -> None:
    if run.config.report is None or not run.listing.now or run.report.out_of_time:
        return  # out of time: the report waits for the next run, which finds it still due
    meta = run.state.meta.setdefault(META, {})
    period = due(run.config.report, parse_date(run.listing.now), meta.get("last"), run.listing.baseline)
    if period is None:
        return
    end = int(period.end.timestamp())
    if _in_master(ctx, run, end):
        meta["last"] = end  # posted by a run whose state was lost
        return
    text = _report_text(ctx, run, period)
    if text is None:
        return
    try:
        with write_in_flight():
            [item] = ctx.portal.post_comments(run.master, [text])
            if posted_id(item) is None:
                raise item.error or bitrix.OutcomeUnknown("OUTCOME_UNKNOWN", "the post was answered without an id")
            meta["last"], meta["id"] = end, posted_id(item)
            ctx.state.save()
    except bitrix.OutcomeUnknown:
        if not _in_master(ctx, run, end):
            run.report.warnings.append("the status report's post was answered with nothing; it is looked for "
                                       "in the master and posted if absent next run")
            return
        meta["last"] = end
    except bitrix.BitrixError as exc:
        if isinstance(exc, (bitrix.AuthError, bitrix.ScopeError)):
            raise
        run.report.warnings.append(f"the status report was refused ({describe(exc)}); it is tried again next run")
        return
    run.report.count_post("report")


def _in_master(ctx: Context, run: GroupRun, end: int) -> bool:
    """Whether the master holds our report for the period ending at `end`: read from the last report the
    state knows of (from the first comment when it knows none)."""
    after = int(run.state.meta.get(META, {}).get("id") or 0)
    ours = [c.text for c in ctx.portal.master_comments(run.master, after) if c.author_id == ctx.me]
    return end in reported_ends(run.master.id, ours)


def _report_text(ctx: Context, run: GroupRun, period) -> str | None:
    master = run.master
    tasks = {t.id: t for t in ctx.portal.all_group_tasks(run.gid)}
    tasks[master.id] = master
    inside = sorted(t.id for t in tasks.values() if subtree_verdict(t, master, tasks, run.config.depth) is None)
    answers = ctx.portal.run({task_id: q_history(task_id) for task_id in inside})
    failed = [task_id for task_id, rows in answers.items() if isinstance(rows, bitrix.BitrixError)]
    if failed:
        # Figures from part of the history would be wrong, and a posted report is never corrected.
        run.report.warnings.append(f"the status report waits: the history of task {failed[0]} could not be read "
                                   f"({describe(answers[failed[0]])}); it is tried again next run")
        return None
    found = facts(master, tasks, answers, period, depth=run.config.depth, rules=run.config.rules)
    log.debug("group %d: status report for %s..%s: %s", run.gid, period.start, period.end, found)
    flavour = "chat" if master.world == "chat" else "forum"
    return render_report(found, period, token=token(master.id, period.end), master_id=master.id, group_id=run.gid,
                         portal_url=ctx.portal.portal_url, language=run.config.language, flavour=flavour,
                         rules=run.config.rules, users=people(run.details.users, tasks))
