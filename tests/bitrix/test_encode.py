from urllib.parse import parse_qsl

from b24mirror.bitrix.encode import command, http_build_query


def test_php_brackets_and_lists():
    q = http_build_query({"filter": {"GROUP_ID": 5}, "select": ["ID", "TITLE"]})
    assert q == "filter[GROUP_ID]=5&select[0]=ID&select[1]=TITLE"


def test_values_percent_encoded_plus_in_date():
    q = http_build_query({"filter": {">=CREATED_DATE": "2024-05-01T10:00:00+03:00"}})
    assert "%2B03%3A00" in q and "+" not in q
    assert dict(parse_qsl(q)) == {"filter[>=CREATED_DATE]": "2024-05-01T10:00:00+03:00"}


def test_nested_positional_bools_and_none():
    q = http_build_query({"0": 12, "1": {"POST_MESSAGE": "a&b=c ü"}, "flag": True, "off": False, "skip": None})
    assert dict(parse_qsl(q)) == {"0": "12", "1[POST_MESSAGE]": "a&b=c ü", "flag": "1", "off": "0"}


def test_command():
    assert command("user.current", {}) == "user.current"
    assert command("tasks.task.list", {"filter": {"GROUP_ID": 5}, "select": ["ID"]}) == \
        "tasks.task.list?filter[GROUP_ID]=5&select[0]=ID"
