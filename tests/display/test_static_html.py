"""The static HTML view: hostile span content stays inert text, structure, size caps."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from typing import Any

import pytest

import mlflow_trace_nb as mlflow
from mlflow_trace_nb.display import static_html
from mlflow_trace_nb.display.static_html import MAX_NESTING, MAX_SPANS, render_static_html
from mlflow_trace_nb.entities import Trace
from tests.helpers import last_trace

PAYLOADS = [
    '<img src=x onerror="window.__xss=1">',
    "</script><script>window.__xss=2</script>",
    "</style><style>body{display:none}</style>",
    "javascript:window.__xss=3",
    '<a href="javascript:window.__xss=4">click</a>',
    "{{ 7*7 }}",
    "{% for x in range(3) %}loop{% endfor %}",
    "<svg onload=window.__xss=5>",
    "&lt;already escaped&gt; & \"quotes\" 'single'",
]
HOSTILE = " ".join(PAYLOADS)
ALLOWED_TAGS = {"div", "style", "details", "summary", "span", "pre"}
VOID_TAGS = {"img", "br", "hr", "input", "meta", "link", "source", "embed"}
ALLOWED_ATTRS = {"class", "open", "title", "style"}


class _Page(HTMLParser):
    """Every tag, attribute and text node; checks that tags nest properly."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []
        self.stack: list[str] = []
        self.max_details_depth = 0
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))
        if tag in VOID_TAGS:
            return
        self.stack.append(tag)
        self.max_details_depth = max(self.max_details_depth, self.stack.count("details"))

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(page: str) -> _Page:
    parsed = _Page(page)
    assert parsed.stack == [], "unclosed tags"
    return parsed


def hostile_trace() -> Trace:
    @mlflow.trace(name=HOSTILE, span_type=HOSTILE)
    def agent(question: str) -> dict[str, Any]:
        mlflow.set_span_attribute(HOSTILE, HOSTILE)
        mlflow.set_span_attribute(
            "mlflow.chat.tokenUsage", {"input_tokens": 12, "output_tokens": 30}
        )
        with mlflow.start_span(HOSTILE, span_type="TOOL"):
            mlflow.update_current_trace(tags={HOSTILE: HOSTILE})
        try:
            with mlflow.start_span("tool"):
                raise RuntimeError(HOSTILE)
        except RuntimeError:
            pass
        return {HOSTILE: [HOSTILE]}

    agent(HOSTILE)
    return last_trace()


def test_every_hostile_payload_is_inert_text() -> None:
    page = render_static_html([hostile_trace()])
    parsed = parse(page)
    for tag, attrs in parsed.tags:
        assert tag in ALLOWED_TAGS
        for name, value in attrs:
            assert name in ALLOWED_ATTRS, (tag, name, value)
            if name == "style":
                assert re.fullmatch(r"left:\d+\.\d\d%;width:\d+\.\d\d%", value or "")
            if name == "title":
                assert value in {"OK", "ERROR", "UNSET", "CANCELLED"}
    assert [tag for tag, _ in parsed.tags].count("style") == 1
    style_text = page[page.index("<style>") : page.index("</style>")]
    assert "__xss" not in style_text and "display:none" not in style_text
    lowered = page.lower()
    for needle in ("<script", "</script", "<img", "<svg", "<a ", "</style><"):
        assert needle not in lowered, needle  # present only escaped, as &lt;...
    text = "".join(parsed.text)
    for payload in PAYLOADS:  # each payload reaches the reader, verbatim, as text
        assert (
            payload in text
            or html.escape(payload, quote=False) in text
            or payload
            in (
                text.replace('\\"', '"')  # JSON-quoted inside inputs/outputs
            )
        ), payload
    # Verbatim above means the template never evaluated them ({{ 7*7 }} did not become 49;
    # a bare "49" check would trip on ids and timings).
    assert "{{ 7*7 }}" in text
    assert "looploop" not in text  # the jinja loop never ran (it would repeat its body)


def test_payloads_show_in_name_error_and_tags() -> None:
    text = "".join(parse(render_static_html([hostile_trace()])).text)
    assert text.count(HOSTILE) >= 4  # trace name, root span name, child name, tag, type
    assert f"RuntimeError: {HOSTILE}" in text


def test_structure_tree_status_and_tokens() -> None:
    @mlflow.trace(span_type="CHAIN")
    def rag(q: str) -> str:
        return generate(retrieve(q))

    @mlflow.trace(span_type="RETRIEVER")
    def retrieve(q: str) -> list[str]:
        return ["doc"]

    @mlflow.trace(span_type="CHAT_MODEL")
    def generate(docs: list[str]) -> str:
        usage = {"input_tokens": 5, "output_tokens": 7, "total_tokens": 12}
        mlflow.set_span_attribute("mlflow.chat.tokenUsage", usage)
        return "answer"

    rag("q")
    trace = last_trace()
    page = render_static_html([trace])
    parsed = parse(page)
    details = [attrs for tag, attrs in parsed.tags if tag == "details"]
    assert len(details) == 1 + 3  # the trace plus one per span
    assert parsed.max_details_depth == 3  # trace > rag > retrieve/generate
    text = "".join(parsed.text)
    assert text.index("rag") < text.index("retrieve") < text.index("generate")
    assert "5 in / 7 out / 12 total tokens" in text
    assert "CHAT_MODEL" in text and "RETRIEVER" in text
    assert trace.request_id in text
    assert '"answer"' in text
    assert "mtn-ok" in page and "\u2713" in text
    assert "more trace" not in text


def test_error_span_is_marked_with_its_message() -> None:
    with pytest.raises(TimeoutError), mlflow.start_span("flaky"):
        raise TimeoutError("upstream timed out")
    page = render_static_html([last_trace()])
    assert "mtn-error" in page and "\u2717" in page
    assert "TimeoutError: upstream timed out" in "".join(parse(page).text)


def test_more_line_and_empty_list() -> None:
    mlflow.trace(len)("abc")
    text = "".join(parse(render_static_html([last_trace()], more=7)).text)
    assert "7 more traces not shown" in text
    one = "".join(parse(render_static_html([], more=1)).text)
    assert "1 more trace not shown" in one


def test_long_values_are_truncated_with_a_marker() -> None:
    @mlflow.trace
    def big(text: str) -> str:
        return text * 2

    big("x" * 100_000)
    page = render_static_html([last_trace()])
    assert page.count("\u2026truncated") == 2  # inputs and outputs
    # each value keeps MAX_VALUE_CHARS (was 2,000: too little for a prompt or an answer)
    assert len(page) < 2 * static_html.MAX_VALUE_CHARS + 12_000
    assert "80,000 more characters not shown" in page


def test_ten_thousand_deep_spans_stay_small() -> None:
    def chain(depth: int) -> None:
        with mlflow.start_span(f"level-{depth}") as span:
            span.set_inputs({"depth": depth, "text": "y" * 200})
            if depth < 9_999:
                chain(depth + 1)

    import sys

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(40_000)
    try:
        chain(0)
    finally:
        sys.setrecursionlimit(limit)
    trace = last_trace()
    assert len(trace.spans) == 10_000
    page = render_static_html([trace])
    parsed = parse(page)
    assert len(page) < 600_000
    details = sum(1 for tag, _ in parsed.tags if tag == "details")
    assert details == 1 + MAX_SPANS
    assert parsed.max_details_depth == 1 + MAX_NESTING + 1  # trace + levels 0..MAX_NESTING
    text = "".join(parsed.text)
    assert f"{10_000 - MAX_SPANS} more spans not shown" in text
    assert f"depth {MAX_SPANS - 1}" in text  # clamped spans say how deep they are


def test_ten_thousand_wide_spans_and_the_payload_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    with mlflow.start_span("root"):
        for i in range(10_000):
            with mlflow.start_span(f"child-{i}") as span:
                span.set_outputs("z" * 5_000)
    page = render_static_html([last_trace()])
    assert len(page) < static_html.PAYLOAD_BUDGET + 400_000
    text = "".join(parse(page).text)
    assert "payload omitted" in text
    assert f"{10_001 - MAX_SPANS} more spans not shown" in text
    assert "child-498" in text and "child-499" not in text


def test_span_cap_is_shared_across_traces() -> None:
    for _ in range(3):
        with mlflow.start_span("root"):
            for i in range(300):
                mlflow.trace(abs)(i)
    traces = mlflow.search_traces(return_type="list")
    parsed = parse(render_static_html(traces))
    assert sum(1 for tag, _ in parsed.tags if tag == "details") == 3 + MAX_SPANS


def test_the_checker_catches_raw_html() -> None:
    """Control: the same checks flag the payloads when they are not escaped."""
    parsed = parse(f"<div>{PAYLOADS[0]}{PAYLOADS[7]}</svg></div>")
    assert {"img", "svg"} <= {tag for tag, _ in parsed.tags}
    assert any(name.startswith("on") for _, attrs in parsed.tags for name, _ in attrs)


def test_traces_still_in_memory_render_too() -> None:
    from mlflow_trace_nb._internal.runtime import RUNTIME

    with mlflow.start_span("live-root") as span:
        span.set_inputs({"q": PAYLOADS[0]})
    live = RUNTIME.last_trace
    assert live is not None
    text = "".join(parse(render_static_html([live])).text)
    assert "live-root" in text and "window.__xss=1" in text


# View v2: readable values, conversations, documents, exceptions, cost -------------------


def rich_hostile_trace() -> Trace:
    """Every new field of the view carries the hostile payloads."""

    @mlflow.trace(name="retrieve", span_type="RETRIEVER")
    def retrieve(query: str) -> list[dict[str, Any]]:
        return [
            {"page_content": HOSTILE, "metadata": {HOSTILE: HOSTILE}, "id": HOSTILE},
            {"page_content": "plain doc\nsecond line", "metadata": {"source": "wiki"}},
        ]

    @mlflow.trace(name="chat", span_type="CHAT_MODEL")
    def chat(messages: list[dict[str, str]]) -> dict[str, Any]:
        mlflow.set_span_attribute("mlflow.llm.model", HOSTILE)
        mlflow.set_span_attribute("mlflow.chat.tokenUsage", {"input_tokens": 3, "output_tokens": 4})
        return {"choices": [{"message": {"role": "assistant", "content": HOSTILE}}]}

    @mlflow.trace(name="root")
    def root() -> None:
        # Tag keys are capped at 250 characters when stored (store/limits.py): the key keeps
        # the payloads that fit, so live and stored traces carry the same key.
        mlflow.update_current_trace(tags={HOSTILE[:250]: HOSTILE})
        retrieve(HOSTILE)
        chat([{"role": "system", "content": HOSTILE}, {"role": HOSTILE, "content": HOSTILE}])

    root()
    return last_trace()


def test_new_fields_keep_hostile_payloads_inert() -> None:
    page = render_static_html([rich_hostile_trace()])
    parsed = parse(page)
    for tag, attrs in parsed.tags:
        assert tag in ALLOWED_TAGS
        for name, value in attrs:
            assert name in ALLOWED_ATTRS, (tag, name, value)
            if name == "class":
                assert re.fullmatch(r"[a-z0-9 _-]+", value or ""), value
            if name == "style":
                assert re.fullmatch(r"left:\d+\.\d\d%;width:\d+\.\d\d%", value or "")
            if name == "title":
                assert value in {"OK", "ERROR", "UNSET", "CANCELLED", "RUNNING"}
    lowered = page.lower()
    for needle in ("<script", "</script", "<img", "<svg", "<a ", "</style><"):
        assert needle not in lowered, needle
    text = "".join(parsed.text)
    # model name, tag value, document text/id/metadata, role and message content (the tag key
    # holds only the first 250 characters)
    assert text.count(HOSTILE) >= 6
    assert HOSTILE[:250] in text
    assert "cost unknown" in text  # a hostile model name is no model of the price table


def test_chat_shows_the_answer_before_a_long_system_prompt() -> None:
    system = "You are careful.\n" + "Rule: be precise and kind.\n" * 400

    @mlflow.trace(span_type="CHAT_MODEL")
    def chat(messages: list[dict[str, str]]) -> dict[str, Any]:
        return {"choices": [{"message": {"role": "assistant", "content": "The answer is 42."}}]}

    chat([{"role": "system", "content": system}, {"role": "user", "content": "What is it?"}])
    page = render_static_html([last_trace()])
    text = "".join(parse(page).text)
    assert text.index("The answer is 42.") < text.index("Rule: be precise") < len(text)
    assert system.strip() in text  # the whole prompt is there (folded), not cut at 2,000
    assert "What is it?" in text
    assert re.search(r'<details class="mtn-fold"><summary>You are careful\.', page)
    assert "conversation: 2 messages sent" in text


def test_long_values_fold_and_mark_their_cut() -> None:
    @mlflow.trace
    def echo(text: str) -> str:
        return text

    echo("y" * (static_html.MAX_VALUE_CHARS + 10_000))
    page = render_static_html([last_trace()])
    text = "".join(parse(page).text)
    assert "y" * static_html.MAX_VALUE_CHARS in text
    assert "y" * (static_html.MAX_VALUE_CHARS + 1) not in text
    assert "10,000 more characters not shown" in text
    assert page.count('<details class="mtn-fold">') >= 2  # inputs and outputs folded


def test_multiline_strings_are_text_and_json_strings_pretty() -> None:
    @mlflow.trace
    def tool(config: str, notes: str) -> str:
        return "first line\nsecond line"

    tool('{"b": [1, 2], "a": {"deep": true, "name": "x", "more": "y" }}', "a\nb")
    text = "".join(parse(render_static_html([last_trace()])).text)
    assert "first line\nsecond line" in text and "first line\\nsecond line" not in text
    assert '"b": [\n    1,\n    2\n  ],' in text  # the JSON inside the string, indented
    assert "a\nb" in text


def test_retriever_documents_are_cards() -> None:
    page = render_static_html([rich_hostile_trace()])
    assert page.count('class="mtn-doc"') == 2
    text = "".join(parse(page).text)
    assert "documents (2)" in text and "plain doc\nsecond line" in text
    assert '{"source": "wiki"}' in text


def test_an_exception_shows_once_without_library_frames() -> None:
    @mlflow.trace
    def inner() -> None:
        raise KeyError("missing key")

    @mlflow.trace
    def middle() -> None:
        inner()

    @mlflow.trace
    def outer() -> None:
        middle()

    with pytest.raises(KeyError):
        outer()
    page = render_static_html([last_trace()])
    text = "".join(parse(page).text)
    assert page.count('class="mtn-stack"') == 1  # the stack trace once, where it was raised
    assert text.count("(raised in span inner)") == 2  # outer and middle point at it
    stack = page[page.index('class="mtn-stack"') :]
    assert "mlflow_trace_nb" not in stack.split("</pre>")[0]  # no wrapper frames
    assert ", in inner" in stack and "KeyError: &#39;missing key&#39;" in stack
    assert re.search(r"\d+ mlflow_trace_nb frames? hidden", text)


def test_trace_start_time_tags_model_and_cost() -> None:
    with mlflow.start_span("call", span_type="LLM") as span:
        span.set_attribute("mlflow.llm.model", "gpt-4o-mini")
        span.set_attribute("mlflow.llm.provider", "openai")
        span.set_attribute("mlflow.chat.tokenUsage", {"input_tokens": 100, "output_tokens": 10})
        mlflow.update_current_trace(tags={"team": "search"})
    trace = last_trace()
    text = "".join(parse(render_static_html([trace])).text)
    import datetime as dt

    started = dt.datetime.fromtimestamp(trace.timestamp_ms / 1000, tz=dt.UTC)
    assert f"started {started:%Y-%m-%d %H:%M}" in text and " UTC" in text
    assert "team=search" in text
    assert "gpt-4o-mini" in text and "100 in / 10 out / 110 total tokens" in text
    assert "$0.0000" in text or "$0.00002" in text or "$0.00001" in text  # a price, not unknown


def test_a_live_trace_renders_like_its_stored_copy() -> None:
    from mlflow_trace_nb._internal.runtime import RUNTIME

    rich_hostile_trace()
    live = RUNTIME.last_trace
    assert live is not None
    stored = last_trace()
    strip = re.compile(r"\d+(\.\d+)? (ms|\u00b5s|s)|left:[^\"]*")
    assert strip.sub("", render_static_html([live])) == strip.sub("", render_static_html([stored]))
