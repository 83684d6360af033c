"""The one place b24mirror talks HTTP to Bitrix24 (requests + tenacity).

    client = BitrixClient("https://x.bitrix24.ru/rest/1/SECRET/")
    client.call("tasks.task.get", {"taskId": 5}).result
    client.batch({"a": ("user.current", {})})["a"].unwrap()
    client.list_all("tasks.task.list", {"filter": {"GROUP_ID": 5}}, items_key="tasks", id_key="id")
"""
from b24mirror.bitrix.batch import BatchItem
from b24mirror.bitrix.client import USER_AGENT, BitrixClient
from b24mirror.bitrix.errors import (AuthError, BitrixError, BudgetExceeded, DeadlineExceeded, IncompleteList,
                                     OutcomeUnknown, PermissionDenied, RequestError, RetryableError, ScopeError,
                                     TransportError, classify)
from b24mirror.bitrix.masking import mask_text, mask_url
from b24mirror.bitrix.methods import is_write
from b24mirror.bitrix.oauth import OAuthCredentials
from b24mirror.bitrix.pacing import ENTERPRISE, STANDARD, Pacer, RateLimit
from b24mirror.bitrix.transport import ClientStats, Response

__all__ = [
    "BitrixClient", "RateLimit", "STANDARD", "ENTERPRISE", "Pacer", "Response", "BatchItem", "ClientStats",
    "BitrixError", "RetryableError", "TransportError", "IncompleteList", "AuthError", "PermissionDenied",
    "ScopeError", "BudgetExceeded", "RequestError", "OutcomeUnknown", "DeadlineExceeded", "OAuthCredentials",
    "mask_url", "mask_text", "classify", "is_write", "USER_AGENT",
]
