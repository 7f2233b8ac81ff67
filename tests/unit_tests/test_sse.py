"""The SSE decoder: byte-exact, whatever the chunking, line endings or BOM."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from langchain_pathors._sse import ServerSentEvent, SSEDecoder, aiter_events, iter_events

BOM = b"\xef\xbb\xbf"
# Hypothesis must not fail a test for being slow on a noisy machine.
relaxed = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

# A realistic stream: a keep-alive, a chunk with every field, multi-line data, an unknown
# field, multibyte text (2-, 3- and 4-byte UTF-8) and the final [DONE].
STREAM_LINES = [
    ": keep-alive",
    "",
    "event: chunk",
    "id: 1",
    "retry: 3000",
    'data: {"choices":[{"delta":{"content":"Héllo"}}]}',
    "",
    "data: first line",
    "data:second line",
    "",
    "unknown: field",
    "data: 世界 🎉",
    "",
    "data: [DONE]",
    "",
]
EXPECTED = [
    ServerSentEvent(comment=True),
    ServerSentEvent(
        data='{"choices":[{"delta":{"content":"Héllo"}}]}', event="chunk", id="1", retry=3000
    ),
    # The last event id persists across events, as the WHATWG spec says; retry does not.
    ServerSentEvent(data="first line\nsecond line", id="1"),
    ServerSentEvent(data="世界 🎉", id="1"),
    ServerSentEvent(data="[DONE]", id="1"),
]


def encode(lines: list[str], ending: str) -> bytes:
    """Join lines with a line ending; "mixed" cycles LF, CR, CRLF (never a CR then a LF)."""
    if ending == "mixed":
        endings = ["\n", "\r", "\r\n"]
        return "".join(line + endings[i % 3] for i, line in enumerate(lines)).encode()
    return "".join(line + ending for line in lines).encode()


def decode(chunks: Iterable[bytes]) -> list[ServerSentEvent]:
    return list(iter_events(chunks))


def split_at(raw: bytes, cuts: Iterable[int]) -> list[bytes]:
    """Split raw at the given offsets (duplicates give empty chunks)."""
    bounds = [0, *sorted(cuts), len(raw)]
    return [raw[a:b] for a, b in itertools.pairwise(bounds)]


ENDINGS = pytest.mark.parametrize("ending", ["\n", "\r", "\r\n", "mixed"], ids=repr)


# --------------------------------------------------------------------------- chunking
@ENDINGS
def test_one_chunk(ending: str) -> None:
    assert decode([encode(STREAM_LINES, ending)]) == EXPECTED


@ENDINGS
def test_every_split_point(ending: str) -> None:
    raw = encode(STREAM_LINES, ending)
    for cut in range(len(raw) + 1):
        assert decode([raw[:cut], raw[cut:]]) == EXPECTED, f"split at byte {cut}"


@ENDINGS
def test_byte_by_byte(ending: str) -> None:
    raw = encode(STREAM_LINES, ending)
    assert decode(raw[i : i + 1] for i in range(len(raw))) == EXPECTED


@ENDINGS
@relaxed
@given(data=st.data())
def test_random_pieces(ending: str, data: st.DataObject) -> None:
    raw = encode(STREAM_LINES, ending)
    cuts = data.draw(st.lists(st.integers(0, len(raw)), max_size=30))
    assert decode(split_at(raw, cuts)) == EXPECTED


def test_cr_ending_one_chunk_and_lf_starting_the_next_are_one_line_end() -> None:
    # If the LF were read as a blank line, "a" would be dispatched alone.
    assert decode([b"data: a\r", b"\ndata: b\r\n\r\n"]) == [ServerSentEvent(data="a\nb")]


def test_cr_stays_pending_through_an_empty_chunk() -> None:
    assert decode([b"data: a\r", b"", b"\ndata: b\r\n\r\n"]) == [ServerSentEvent(data="a\nb")]


def test_cr_then_cr_is_a_blank_line() -> None:
    assert decode([b"data: a\r", b"\rdata: b\r\r"]) == [
        ServerSentEvent(data="a"),
        ServerSentEvent(data="b"),
    ]


def test_multibyte_character_split_across_chunks() -> None:
    raw = "data: é世🎉\n\n".encode()
    for cut in range(len(raw) + 1):
        assert decode([raw[:cut], raw[cut:]]) == [ServerSentEvent(data="é世🎉")]


# --------------------------------------------------------------------------- BOM
def test_bom_at_start_does_not_lose_first_event() -> None:
    assert decode([BOM + b"data: first\n\ndata: second\n\n"]) == [
        ServerSentEvent(data="first"),
        ServerSentEvent(data="second"),
    ]


@pytest.mark.parametrize(
    "chunks",
    [
        [b"\xef", b"\xbb\xbfdata: first\n\n"],
        [b"\xef\xbb", b"\xbfdata: first\n\n"],
        [b"\xef", b"\xbb", b"\xbf", b"data: first\n\n"],
        [b"", b"\xef", b"", b"\xbb\xbf", b"data: first\n\n"],
        [BOM, b"data: first\n\n"],
    ],
)
def test_bom_split_across_chunks(chunks: list[bytes]) -> None:
    assert decode(chunks) == [ServerSentEvent(data="first")]


def test_bom_only_stripped_at_stream_start() -> None:
    # A BOM later on is part of the line: "\ufeffdata" is an unknown field, so ignored.
    assert decode([b"data: a\n\n" + BOM + b"data: b\n\n"]) == [ServerSentEvent(data="a")]


# --------------------------------------------------------------------------- fields
def test_comment_is_a_comment_event_never_data() -> None:
    events = decode([b": keep-alive\n\n: ping\ndata: x\n\n"])
    assert events == [
        ServerSentEvent(comment=True),
        ServerSentEvent(comment=True),
        ServerSentEvent(data="x"),
    ]
    assert all(e.data == "" for e in events if e.comment)


def test_comment_inside_an_event_is_skipped() -> None:
    assert decode([b"data: a\n: keep-alive\ndata: b\n\n"]) == [ServerSentEvent(data="a\nb")]


def test_multiline_data_joined_with_newline() -> None:
    assert decode([b"data: one\ndata: two\ndata: three\n\n"]) == [
        ServerSentEvent(data="one\ntwo\nthree")
    ]


@pytest.mark.parametrize(
    ("line", "data"),
    [
        (b"data: x", "x"),
        (b"data:x", "x"),
        (b"data:  x", " x"),  # only one leading space is removed
        (b"data:", ""),
        (b"data", ""),  # a field name alone has an empty value
        (b"data: a: b", "a: b"),
    ],
)
def test_data_value_forms(line: bytes, data: str) -> None:
    assert decode([line + b"\n\n"]) == [ServerSentEvent(data=data)]


def test_unknown_fields_are_ignored() -> None:
    assert decode([b"foo: bar\ndata: x\nEvent: nope\n\n"]) == [ServerSentEvent(data="x")]
    assert decode([b"foo: bar\n\n"]) == []


def test_event_id_retry_parsed() -> None:
    assert decode([b"event: update\nid: 42\nretry: 1500\ndata: x\n\n"]) == [
        ServerSentEvent(data="x", event="update", id="42", retry=1500)
    ]


@pytest.mark.parametrize("value", ["soon", "-1", "1.5", "²", "١٢"])
def test_retry_that_is_not_ascii_digits_is_ignored(value: str) -> None:
    raw = f"retry: {value}\ndata: x\n\n".encode()
    assert decode([raw]) == [ServerSentEvent(data="x")]


def test_id_with_nul_is_ignored() -> None:
    assert decode([b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n"]) == [
        ServerSentEvent(data="a", id="1"),
        ServerSentEvent(data="b", id="1"),
    ]


def test_event_type_resets_between_events() -> None:
    assert decode([b"event: error\ndata: a\n\ndata: b\n\n"]) == [
        ServerSentEvent(data="a", event="error"),
        ServerSentEvent(data="b"),
    ]


def test_event_without_data_is_not_dispatched() -> None:
    assert decode([b"event: ping\n\nid: 7\n\ndata: x\n\n"]) == [ServerSentEvent(data="x", id="7")]


# --------------------------------------------------------------------------- end of stream
@pytest.mark.parametrize(
    "raw",
    [b"data: a\n\ndata: last", b"data: a\n\ndata: last\n", b"data: a\r\n\r\ndata: last\r"],
    ids=["no-line-end", "no-blank-line", "cr"],
)
def test_final_event_without_blank_line_dispatched_at_close(raw: bytes) -> None:
    decoder = SSEDecoder()
    assert decoder.feed(raw) == [ServerSentEvent(data="a")]
    assert decoder.close() == [ServerSentEvent(data="last")]
    assert decode([raw]) == [ServerSentEvent(data="a"), ServerSentEvent(data="last")]


def test_close_on_empty_stream() -> None:
    assert SSEDecoder().close() == []
    assert decode([]) == []


# --------------------------------------------------------------------------- robustness
# Pieces that make interesting SSE-ish byte strings: fields, separators, line ends, a BOM,
# broken UTF-8, NUL and digits that are not ASCII.
TOKENS = st.sampled_from(
    [
        b"data",
        b"event",
        b"id",
        b"retry",
        b":",
        b" ",
        b"\r",
        b"\n",
        b"\r\n",
        BOM,
        b"\xc3",
        b"\xa9",
        b"\xff",
        b"\x00",
        b"1",
        "²".encode(),
        b"x",
        b"[DONE]",
    ]
)


@relaxed
@given(raw=st.binary(max_size=300), cuts=st.lists(st.integers(0, 300), max_size=20))
def test_random_bytes_never_raise_and_do_not_depend_on_chunking(
    raw: bytes, cuts: list[int]
) -> None:
    whole = decode([raw])
    assert decode(split_at(raw, [c for c in cuts if c <= len(raw)])) == whole


@relaxed
@given(pieces=st.lists(TOKENS, max_size=60), data=st.data())
def test_sse_like_bytes_never_raise_and_do_not_depend_on_chunking(
    pieces: list[bytes], data: st.DataObject
) -> None:
    raw = b"".join(pieces)
    cuts = data.draw(st.lists(st.integers(0, len(raw)), max_size=20))
    whole = decode([raw])
    assert decode(split_at(raw, cuts)) == whole
    assert decode(raw[i : i + 1] for i in range(len(raw))) == whole


# --------------------------------------------------------------------------- async
async def _agen(chunks: list[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


@ENDINGS
async def test_aiter_events_matches_iter_events(ending: str) -> None:
    raw = encode(STREAM_LINES, ending)
    chunks = [raw[i : i + 7] for i in range(0, len(raw), 7)]
    assert [e async for e in aiter_events(_agen(chunks))] == EXPECTED


async def test_aiter_events_dispatches_final_event_at_end() -> None:
    events = [e async for e in aiter_events(_agen([BOM, b"data: a\n\ndata: la", b"st"]))]
    assert events == [ServerSentEvent(data="a"), ServerSentEvent(data="last")]
