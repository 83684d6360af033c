"""The face: click commands, what they print (text, JSON), init, logging, the demo. No rule lives here."""

from b24mirror.cli.commands import main

__all__ = ["main"]
