"""extract_json: locating, repairing and loading JSON in messy replies."""

from __future__ import annotations

import pytest

from llama_vision_block.parsing import ReplyParseError, extract_json


@pytest.mark.parametrize(
    "reply, expected",
    [
        ('{"a": 1}', {"a": 1}),
        ('```json\n{"a": 1}\n```', {"a": 1}),
        ('```\n{"a": 1}\n```', {"a": 1}),
        ('Here is the JSON:\n{"a": 1}\nDone.', {"a": 1}),
        ('```json {"a": 1}```', {"a": 1}),
        ('{"a": [1, 2,], "b": 3,}', {"a": [1, 2], "b": 3}),
        ("{'a': 'b'}", {"a": "b"}),
        ("{'a': True, 'b': False, 'c': None}", {"a": True, "b": False, "c": None}),
        ('{a: 1, b_c: "x"}', {"a": 1, "b_c": "x"}),
        ('{"a": 1, // one\n "b": 2 /* two */}', {"a": 1, "b": 2}),
        ("{\u201ca\u201d: \u201cb\u201d}", {"a": "b"}),
        ("{\u2018a\u2019: \u2018it\u2019s\u2019}", {"a": "it\u2019s"}),
        ('{"a": "hel', {"a": "hel"}),
        ('{"a": 1, "b": [1, 2', {"a": 1, "b": [1, 2]}),
        ('{"a": 1, "b"', {"a": 1}),
        ('{"a": 1, "b":', {"a": 1}),
        ('{"a": "x\\u00e9\\ud83d\\ude00"}', {"a": "x\u00e9\U0001F600"}),
        ('{"a": "say \\"hi\\""}', {"a": 'say "hi"'}),
        ('{"a": "He said "stop" twice"}', {"a": 'He said "stop" twice'}),
        ('{"a": [1, 2}', {"a": [1, 2]}),
        ('{"a": 1}}]', {"a": 1}),
        ('{"a": 1\n "b": "x"\n "c": [1 2]}', {"a": 1, "b": "x", "c": [1, 2]}),
        ('[{"a": 1} {"a": 2}]', [{"a": 1}, {"a": 2}]),
        ('{"x": 1}\n{"y": 2}', [{"x": 1}, {"y": 2}]),
        ('{"cat", "dog"}', ["cat", "dog"]),
        ('{"class\\_name": "a\\*b", "re": "\\d+"}', {"class_name": "a*b", "re": "\\d+"}),
        ("{'a': '\\xe9\\U0001F600'}", {"a": "\u00e9\U0001F600"}),
        ('{"a": NaN}', None),
    ],
)
def test_extract_json_repairs(reply: str, expected: object) -> None:
    value = extract_json(reply)
    if expected is None:  # NaN never equals itself
        assert value["a"] != value["a"]
    else:
        assert value == expected


def test_first_fenced_block_wins_over_prose() -> None:
    reply = 'The format is {"k": "v"}.\n```json\n{"real": true}\n```'
    assert extract_json(reply) == {"real": True}


def test_fence_inside_string_does_not_end_the_block() -> None:
    assert extract_json('```json\n{"a": "x```y"}\n```') == {"a": "x```y"}


def test_unclosed_fence_runs_to_the_end() -> None:
    assert extract_json('```json\n{"a": [1, 2') == {"a": [1, 2]}


def test_bracketed_prose_is_not_json() -> None:
    with pytest.raises(ReplyParseError, match="no JSON object found"):
        extract_json("Sure [see below] and {this}.")


def test_refusal_is_reported() -> None:
    with pytest.raises(ReplyParseError, match="the model refused: I'm sorry, I can't help with that."):
        extract_json("I'm sorry, I can't help with that.")


@pytest.mark.parametrize("reply", ["", "   ", "no json here", "```\n```"])
def test_no_json_raises(reply: str) -> None:
    with pytest.raises(ReplyParseError):
        extract_json(reply)


def test_reply_parse_error_is_a_value_error() -> None:
    assert issubclass(ReplyParseError, ValueError)


def test_non_string_raises_reply_parse_error() -> None:
    with pytest.raises(ReplyParseError, match="str"):
        extract_json(None)  # type: ignore[arg-type]
