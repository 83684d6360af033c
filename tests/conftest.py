"""What every test of the suite shares: the tool's logger as each test found it.

`setup_logging` (run by every in-process CLI test) gives the `b24mirror` logger its own stderr
handler and stops propagation; a later test in the same worker that reads records with `caplog`
would then see none. Each test starts from the logger as it was before the first test ran.
"""
from __future__ import annotations

import logging

import pytest


@pytest.fixture(autouse=True)
def _the_tools_logger_as_it_was():
    logger = logging.getLogger("b24mirror")
    saved = (list(logger.handlers), logger.level, logger.propagate)
    yield
    logger.handlers[:], logger.level, logger.propagate = saved[0], saved[1], saved[2]
