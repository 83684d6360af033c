from b24mirror.fakeportal.params import parse_query, positional


def test_php_brackets_nested_and_lists():
    got = parse_query("filter[GROUP_ID]=5&select[]=ID&select[]=TITLE&a[b][0][c]=x&a[b][1][c]=y&order[ID]=asc")
    assert got == {"filter": {"GROUP_ID": "5"}, "select": ["ID", "TITLE"], "a": {"b": [{"c": "x"}, {"c": "y"}]},
                   "order": {"ID": "asc"}}


def test_encoded_keys_and_plus_becomes_space():
    got = parse_query("filter[%3E%3DCHANGED_DATE]=2026-03-04T09:00:00%2B03:00&filter[%3EID]=7")
    assert got["filter"] == {">=CHANGED_DATE": "2026-03-04T09:00:00+03:00", ">ID": "7"}
    assert parse_query("f[d]=2026-03-04T09:00:00+03:00")["f"]["d"] == "2026-03-04T09:00:00 03:00"


def test_positional_arguments():
    assert positional(parse_query("0=123&1[POST_MESSAGE]=text")) == ["123", {"POST_MESSAGE": "text"}]
    assert positional({"TASKID": 5, "ITEMID": 7}) == [5, 7]
    assert positional({"ITEMID": 7, "TASKID": 5}) == [7, 5]  # key order is what counts
    assert positional([5, {"POST_MESSAGE": "x"}]) == [5, {"POST_MESSAGE": "x"}]
    assert positional({"1": "b", "0": "a", "auth": "t"}) == ["a", "b"]
