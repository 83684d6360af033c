import pickle

import pytest

from b24mirror.bitrix import (AuthError, BitrixError, BudgetExceeded, PermissionDenied, RequestError, RetryableError,
                              ScopeError, classify)
from b24mirror.bitrix.errors import parse_error_body

from .helpers import SECRET, WEBHOOK


@pytest.mark.parametrize("code,status,cls", [
    ("QUERY_LIMIT_EXCEEDED", 503, RetryableError),
    ("query_limit_exceeded", 503, RetryableError),
    ("INTERNAL_SERVER_ERROR", 500, RetryableError),
    ("", 502, RetryableError),
    ("SOMETHING", 504, RetryableError),
    ("NO_AUTH_FOUND", 401, AuthError),
    ("expired_token", 401, AuthError),
    ("invalid_token", 401, AuthError),
    ("insufficient_scope", 403, ScopeError),
    ("ACCESS_DENIED", 403, PermissionDenied),
    ("ACCESS_ERROR", 403, PermissionDenied),
    ("INVALID_CREDENTIALS", 401, PermissionDenied),
    ("OPERATION_TIME_LIMIT", 429, BudgetExceeded),
    ("0", 400, RequestError),
    ("100", 400, RequestError),
    ("ERROR_CORE", 400, RequestError),
    ("ERROR_METHOD_NOT_FOUND", 404, RequestError),
    ("", 400, RequestError),
])
def test_classification(code, status, cls):
    exc = classify(code, "desc", http_status=status, method="tasks.task.get")
    assert type(exc) is cls
    assert exc.code == code.upper()
    assert exc.raw_code == code
    assert exc.method == "tasks.task.get"
    assert exc.http_status == status
    assert isinstance(exc, BitrixError)


def test_code_wins_over_status():
    # the SDK and the docs disagree on statuses: branch on the code
    assert type(classify("insufficient_scope", http_status=401)) is ScopeError
    assert type(classify("INVALID_CREDENTIALS", http_status=401)) is PermissionDenied
    assert type(classify("SOMETHING_NEW", http_status=500)) is RetryableError  # unknown code + 5xx: transient


def test_scope_from_description_then_method():
    assert classify("insufficient_scope", "Method requires scope: im", method="tasks.task.get").scope == "im"
    assert classify("insufficient_scope", "", method="tasks.task.list").scope == "task"
    assert classify("insufficient_scope", "", method="task.commentitem.add").scope == "task"
    assert classify("insufficient_scope", "", method="sonet_group.user.get").scope == "sonet_group"
    assert classify("insufficient_scope", "", method="user.get").scope == "user"
    assert classify("insufficient_scope", "", method="im.message.add").scope == "im"
    msg = str(classify("INSUFFICIENT_SCOPE", "", method="sonet_group.get"))
    assert "sonet_group" in msg and "webhook" in msg


def test_rest3_error_shape():
    body = {"error": {"code": "BITRIX_REST_V3_EXCEPTION_VALIDATION_REQUESTVALIDATIONEXCEPTION",
                      "message": "Error validating request object",
                      "validation": [{"message": "Required field `id` is not specified", "field": "id"}]}}
    code, desc, _ = parse_error_body(body)
    exc = classify(code, desc, http_status=400)
    assert isinstance(exc, RequestError)
    assert exc.code == "BITRIX_REST_V3_EXCEPTION_VALIDATION_REQUESTVALIDATIONEXCEPTION"
    assert "id: Required field" in exc.description


def test_budget_carries_reset_at():
    exc = classify("OPERATION_TIME_LIMIT", "blocked", http_status=429, reset_at=1_700_000_600)
    assert exc.reset_at == 1_700_000_600


def test_secret_masked_in_messages_and_repr():
    exc = RequestError("X", f"failed calling {WEBHOOK}tasks.task.get?auth=tok123456", method="m")
    for text in (str(exc), repr(exc), exc.description):
        assert SECRET not in text and "tok123456" not in text
    assert "/rest/7/***/" in str(exc)


def test_pickle_roundtrip():
    exc = pickle.loads(pickle.dumps(classify("OPERATION_TIME_LIMIT", "x", http_status=429, reset_at=5.0, method="m")))
    assert isinstance(exc, BudgetExceeded) and exc.reset_at == 5.0 and exc.method == "m"
