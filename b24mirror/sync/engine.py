"""One run over the configured groups, phase by phase.

    listings → details (the targets' markers read back with them) → forums (only where a chat message's
      old-form marker is in question: forums.py) → decide (ledger)
      → read back the targets the details could not → decide (target) → apply → start notes → edits → commit

Each phase runs for every group (every target of a group: a lane) at once, because one `batch` request can serve many groups: a
run in which nothing changed costs one request however many groups there are. A failure in a
phase is that group's (common.guarded); the other groups go on. `--dry-run` stops after the
decision: nothing differs before it.
"""
from __future__ import annotations

from typing import Callable

from b24mirror.policy.edits import watches_edits
from b24mirror.errors import UsageProblem
from b24mirror.portal import Portal
from b24mirror.config.settings import Config, GroupConfig
from b24mirror.state import State
from b24mirror.sync.apply import post_all
from b24mirror.sync.checklist import sync_checklist
from b24mirror.sync.commit import commit, out_of_time_note
from b24mirror.sync.common import Context, each, guarded, ok
from b24mirror.sync.decide import plan_against_master, plan_from_ledger
from b24mirror.sync.forums import read_forums
from b24mirror.sync.details import read_details
from b24mirror.sync.digest import prune_posted
from b24mirror.sync.listings import backfill_starts, read_listings
from b24mirror.sync.masters import read_masters_back
from b24mirror.sync.records import GroupReport, GroupRun, Listing, SyncOptions
from b24mirror.sync.report import post_report
from b24mirror.sync.startnote import post_start_notes
from b24mirror.sync.updates import apply_edits, apply_result_edits


class Syncer:
    def __init__(self, config: Config, portal: Portal, state: State, options: SyncOptions,
                 progress: Callable[[str, int, int], None] | None = None) -> None:
        self.ctx = Context(config, portal, state, options, progress or (lambda lane, done, total: None))

    def run(self) -> list[GroupReport]:
        ctx = self.ctx
        runs = [self._start(group) for group in self._selected_groups()]
        guarded(ok(runs), lambda rs: read_listings(ctx, rs))
        live = [run for run in ok(runs) if run.master is not None]  # cut short by the deadline: nothing learnt
        guarded(ok(live), lambda rs: read_details(ctx, rs))
        guarded(ok(live), lambda rs: read_forums(ctx, rs))
        each(live, lambda run: plan_from_ledger(ctx, run))
        guarded([r for r in ok(live) if r.decision.todo is not None], lambda rs: read_masters_back(ctx, rs))
        each(live, lambda run: plan_against_master(ctx, run))
        guarded([r for r in ok(live) if r.decision.todo], lambda rs: post_all(ctx, rs))
        each(live, prune_posted)
        guarded([r for r in ok(live) if r.decision.todo is not None], lambda rs: post_start_notes(ctx, rs))
        if ctx.options.dry_run:
            return [r.report for r in runs]
        each([r for r in live if watches_edits(r.config) and r.decision.todo is not None],
             lambda run: apply_edits(ctx, run))
        each([r for r in live if r.decision.todo is not None], lambda run: apply_result_edits(ctx, run))
        each([r for r in live if r.config.checklist and r.decision.todo is not None],
             lambda run: sync_checklist(ctx, run))
        each([r for r in live if r.config.report and r.decision.todo is not None], lambda run: post_report(ctx, run))
        for run in runs:
            commit(run)
            if run.report.out_of_time:
                run.report.warnings.append(out_of_time_note(run))
        ctx.state.save()
        return [r.report for r in runs]

    def _selected_groups(self) -> list[GroupConfig]:
        wanted = set(self.ctx.options.groups)
        configured = self.ctx.config.groups
        known = {g.id for g in configured}
        unknown = wanted - known
        if unknown:
            raise UsageProblem(
                f"group {', '.join(map(str, sorted(unknown)))} is not in the configuration "
                f"(configured: {', '.join(map(str, sorted(known)))}); add it under groups: or fix --group"
            )
        return [g for g in configured if not wanted or g.id in wanted]

    def _start(self, group: GroupConfig) -> GroupRun:
        gstate = self.ctx.state.group(group.lane)  # each (group, target) has its own ledger, cursors and meta
        report = GroupReport(group.id, first_sync=gstate.baseline is None, lane=group.lane,
                             target=group.target_task if group.target else None, target_name=group.target_name)
        sweep_due = (gstate.runs + group.id) % max(1, self.ctx.config.sweep_every) == 0
        backfill = backfill_starts(self.ctx, group, gstate)
        full = report.first_sync or sweep_due or not gstate.tasks or backfill
        targets = frozenset(g.target_task for g in self.ctx.config.groups if g.id == group.id)
        return GroupRun(config=group, state=gstate, report=report,
                        listing=Listing(full=full, backfill_starts=backfill, targets=targets))
