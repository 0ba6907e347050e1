"""The one check of a source map's head, made by the collector at upload and by analytics before it builds a map."""

from __future__ import annotations

import pytest

from contracts.sourcemaps import BOM, check_map


def test_a_map_and_an_index_map_pass_and_say_their_debug_id():
    head = check_map(b'{"version":3,"sources":["a.js"],"mappings":"AAAA","debugId":"ABC-1"}')
    assert (head.mappings, head.sources, head.debugId) == ("AAAA", ["a.js"], "ABC-1")
    index = check_map(b'{"version":3,"sections":[{"offset":{"line":0,"column":0},"map":{"version":3}}]}')
    assert [s.url for s in index.sections or []] == [None]
    assert check_map(BOM + b'{"version":3,"mappings":""}').mappings == ""  # a byte order mark before the JSON


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{", "not a source map: "),
        (b"[]", "not a source map: "),
        (b'{"version":2,"mappings":""}', "not a version 3 source map (version 2)"),
        (b'{"mappings":""}', "not a version 3 source map (version None)"),
        (b'{"version":3}', "not a source map: neither mappings nor sections"),
        (b'{"version":3,"sections":[{"url":"other.js.map"}]}', "an index map whose sections name other files by url"),
    ],
)
def test_what_is_not_a_usable_map_is_refused_with_its_reason(body, reason):
    with pytest.raises(ValueError, match="^" + reason.replace("(", r"\(").replace(")", r"\)")):
        check_map(body)
