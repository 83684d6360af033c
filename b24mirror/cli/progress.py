"""Progress of long reads and posts: a bar on a terminal, nothing under cron."""
from __future__ import annotations

import click


class ProgressBar:
    """One line on a terminal while a group posts many mirrors (a backfill); nothing under cron."""

    def __init__(self, width: int = 30) -> None:
        self.width = width
        self.shown = False

    def __call__(self, group_id: int, done: int, total: int) -> None:
        if total < 5:
            return  # a few posts finish before a bar is worth reading
        filled = self.width * done // total
        bar = "#" * filled + "." * (self.width - filled)
        click.echo(f"\rgroup {group_id}: posting [{bar}] {done}/{total}", err=True, nl=False)
        self.shown = True
        if done == total:
            self.close()

    def close(self) -> None:
        if self.shown:
            click.echo("", err=True)
            self.shown = False
