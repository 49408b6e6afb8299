"""Fast JSON decoding of stored columns."""

from __future__ import annotations

from mlflow_trace_nb.store.decoding import decode_json, decode_object


def test_decode_json_values_and_fallbacks() -> None:
    assert decode_json('{"a":[1,2.5,null,"é"]}') == {"a": [1, 2.5, None, "é"]}
    assert decode_json("3") == 3 and decode_json('"s"') == "s"
    assert decode_json(None) is None
    assert decode_json(" [1] ") == [1]  # whitespace: handled by the json.loads fallback
    assert decode_json("{not json") == "{not json"
    assert decode_json('{"a":1} trailing') == '{"a":1} trailing'


def test_decode_object_only_accepts_objects() -> None:
    assert decode_object('{"k":"v"}') == {"k": "v"}
    assert decode_object("[1]") == {} and decode_object("") == {} and decode_object(None) == {}
