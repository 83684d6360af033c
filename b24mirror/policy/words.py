"""Words in the tool's own English output (summaries, findings, errors): numbers with the right form."""
from __future__ import annotations


def plural(n: int, one: str, many: str | None = None) -> str:
    """'1 group', '2 groups', '1 history row', '3 subtask chats': the number and the word in its form."""
    return f"{n} {one if n == 1 else (many or one + 's')}"
