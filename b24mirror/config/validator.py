"""The validator every config reader shares: it collects problems instead of stopping at the first,
so one run shows the administrator the whole list."""
from __future__ import annotations

import difflib
import re
from typing import Any, Callable


class Validator:
    """Collects problems instead of stopping at the first one."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def problem(self, key: str, message: str) -> None:
        self.problems.append(f"{key}: {message}")

    def unknown_keys(self, mapping: dict, allowed: tuple[str, ...], prefix: str) -> None:
        for key in mapping:
            if key in allowed:
                continue
            guess = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f"; did you mean {guess[0]!r}?" if guess else f"; known keys: {', '.join(allowed)}"
            self.problem(f"{prefix}{key}", f"unknown key{hint}")

    def _get(self, mapping: dict, key: str, default: Any, prefix: str, check: Callable[[Any], bool], want: str) -> Any:
        if key not in mapping or mapping[key] is None:
            return default
        value = mapping[key]
        if not check(value):
            self.problem(f"{prefix}{key}", f"must be {want}, got {show(value)}")
            return default
        return value

    def positive_id(self, mapping: dict, key: str, prefix: str) -> int | None:
        if key not in mapping or mapping[key] is None:
            self.problem(f"{prefix}{key}", "missing: must be a positive integer (the id shown in the portal's address bar)")
            return None
        value = mapping[key]
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            self.problem(f"{prefix}{key}", f"must be a positive integer, got {show(value)}")
            return None
        return value

    def integer(self, mapping, key, default, prefix, minimum=None, maximum=None) -> int:
        lo = "" if minimum is None else f" >= {minimum}"
        hi = "" if maximum is None else f" and <= {maximum}"
        want = f"an integer{lo}{hi}" if maximum is None or minimum is None else f"an integer from {minimum} to {maximum}"
        return self._get(
            mapping, key, default, prefix,
            lambda x: isinstance(x, int) and not isinstance(x, bool)
            and (minimum is None or x >= minimum) and (maximum is None or x <= maximum),
            want,
        )

    def number(self, mapping, key, default, prefix, minimum) -> float:
        return float(self._get(
            mapping, key, default, prefix,
            lambda x: isinstance(x, (int, float)) and not isinstance(x, bool) and x >= minimum,
            f"a number >= {minimum}",
        ))

    def boolean(self, mapping, key, default, prefix) -> bool:
        return self._get(mapping, key, default, prefix, lambda x: isinstance(x, bool), "true or false")

    def choice(self, mapping, key, choices, default, prefix) -> str:
        return self._get(mapping, key, default, prefix, lambda x: x in choices, f"one of {', '.join(choices)}")

    def string_list(self, mapping, key, default, prefix) -> list[str] | None:
        return self._get(
            mapping, key, default, prefix,
            lambda x: isinstance(x, list) and all(isinstance(i, str) for i in x), "a list of strings",
        )

    def id_list(self, mapping, key, prefix) -> tuple[int, ...]:
        return tuple(self._get(
            mapping, key, [], prefix,
            lambda x: isinstance(x, list) and all(isinstance(i, int) and not isinstance(i, bool) and i > 0 for i in x),
            "a list of user ids (positive integers)",
        ))

    def patterns(self, mapping, key, prefix) -> tuple[re.Pattern, ...]:
        texts = self.string_list(mapping, key, [], prefix) or []
        compiled = []
        for i, text in enumerate(texts):
            try:
                compiled.append(re.compile(text, re.MULTILINE))
            except re.error as exc:
                self.problem(f"{prefix}{key}[{i}]", f"not a valid regular expression ({exc}): {text!r}")
        return tuple(compiled)


def kind(value: Any) -> str:
    return {list: "a list", dict: "a mapping", str: "a string", int: "an integer", float: "a number",
            bool: "a boolean", type(None): "nothing"}.get(type(value), type(value).__name__)


def show(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value[:60]}"'
    if isinstance(value, (dict, list)):
        return kind(value)
    return repr(value)
