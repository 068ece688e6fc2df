from gridcase_runtime.csv_text import csv_response, to_csv


def test_header_holds_every_column_in_first_seen_order_with_crlf_lines() -> None:
    rows = [{"a": 1, "b": "x,y"}, {"c": 3, "a": 2}]
    assert to_csv(rows) == 'a,b,c\r\n1,"x,y",\r\n2,,3\r\n'


def test_given_columns_fix_the_header_and_accept_a_generator() -> None:
    rows = ({"n": n, "sq": n * n} for n in (1, 2))
    assert to_csv(rows, ["sq", "n"]) == "sq,n\r\n1,1\r\n4,2\r\n"


def test_the_response_is_an_attachment() -> None:
    response = csv_response([{"a": 1}], "cases.csv")
    assert response.media_type == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="cases.csv"'
    assert response.body == b"a\r\n1\r\n"
