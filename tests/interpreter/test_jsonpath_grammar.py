"""AWS's JSONPath dialect, construct by construct (docs/jsonpath.md names each row's ``id``).

Three tables: what each construct selects, which texts are not paths at all, and which paths
are not Reference Paths (read) or settable paths (ResultPath). The forms that real definitions
deployed to AWS use (``$.[0]``, ``$.Snapshots.[0].State``, ``$.[?(@.OU > 0)]``, a ``$`` inside a
filter, ``$.[*].['bucket', 'key']``) are rows of the first table.
"""

from __future__ import annotations

from typing import Any

import pytest

from durable.interpreter.jsonpath import (
    PathMissing,
    PathSyntaxError,
    compile_path,
    compile_reference_path,
)

BOOKS = {
    "store": {
        "book": [
            {"category": "reference", "author": "Nigel Rees", "title": "Sayings", "price": 8.95},
            {"category": "fiction", "author": "Evelyn Waugh", "title": "Sword", "price": 12.99},
            {
                "category": "fiction",
                "author": "Herman Melville",
                "title": "Moby Dick",
                "isbn": "0-553",
                "price": 8.99,
            },
            {
                "category": "fiction",
                "author": "J. R. R. Tolkien",
                "title": "Rings",
                "isbn": "0-395",
                "price": 22.99,
            },
        ],
        "bicycle": {"color": "red", "price": 19.95},
    },
    "expensive": 10,
    "limit": 9,
    "def ghi": 7,
    "tags": ["a", "b"],
}
AUTHORS = ["Nigel Rees", "Evelyn Waugh", "Herman Melville", "J. R. R. Tolkien"]

# (id, path, document, expected value); a definite path yields the value, an indefinite one a list.
SELECTS: list[tuple[str, str, Any, Any]] = [
    # roots
    ("root", "$", {"a": 1}, {"a": 1}),
    ("root-blank-padding", "  $.a  ", {"a": 1}, 1),
    # dot and bracket children
    ("dot-child", "$.store.bicycle.color", BOOKS, "red"),
    ("dot-child-any-characters", "$.a-b:c", {"a-b:c": 1}, 1),
    ("dot-child-unicode", "$.größe", {"größe": 3}, 3),
    ("bracket-child-single-quotes", "$['store']['bicycle']['color']", BOOKS, "red"),
    ("bracket-child-double-quotes", '$["def ghi"]', BOOKS, 7),
    ("bracket-child-escapes", "$['it\\'s']", {"it's": 1}, 1),
    # only the quote and the backslash are escaped; another backslash is kept (AWS-recorded)
    ("bracket-child-other-backslash-kept", '$[\'Test\\""Name"\']', {'Test\\""Name"': 1}, 1),
    ("bracket-child-blanks-inside", "$[ 'store' ].bicycle", BOOKS, {"color": "red", "price": 19.95}),
    ("dot-then-bracket", "$.store.['bicycle'].color", BOOKS, "red"),
    ("dot-then-index", "$.tags.[0]", BOOKS, "a"),
    ("dot-then-index-at-root", "$.[1]", ["x", "y"], "y"),
    ("dot-index-dot", "$.Snapshots.[0].State", {"Snapshots": [{"State": "ok"}]}, "ok"),
    ("bracket-then-bare-name", "$['store']bicycle", BOOKS, {"color": "red", "price": 19.95}),
    # unions of names: merged into one object at the end of a path, iterated before it
    ("name-union-leaf", "$.store.bicycle['color', 'price']", BOOKS, {"color": "red", "price": 19.95}),
    ("name-union-leaf-missing-skipped", "$['a', 'zz']", {"a": 1}, {"a": 1}),
    (
        "name-union-after-wildcard",
        "$.[*].['bucket', 'key']",
        [{"bucket": "b1", "key": "k1", "x": 0}, {"bucket": "b2", "key": "k2"}],
        [{"bucket": "b1", "key": "k1"}, {"bucket": "b2", "key": "k2"}],
    ),
    ("name-union-inner", "$['a','b'].v", {"a": {"v": 1}, "b": {"v": 2}}, [1, 2]),
    # indices
    ("index", "$.store.book[0].author", BOOKS, "Nigel Rees"),
    ("index-negative", "$.store.book[-1].author", BOOKS, "J. R. R. Tolkien"),
    ("index-blanks", "$.store.book[ 1 ].author", BOOKS, "Evelyn Waugh"),
    ("index-list", "$.store.book[0, 2].author", BOOKS, ["Nigel Rees", "Herman Melville"]),
    ("index-list-out-of-range-skipped", "$.tags[0,5]", BOOKS, ["a"]),
    # slices (Jayway: at most two bounds; a step is read and ignored)
    ("slice-from", "$.store.book[2:].author", BOOKS, AUTHORS[2:]),
    ("slice-from-negative", "$.store.book[-2:].author", BOOKS, AUTHORS[2:]),
    ("slice-to", "$.store.book[:2].author", BOOKS, AUTHORS[:2]),
    ("slice-to-negative", "$.store.book[:-1].author", BOOKS, AUTHORS[:3]),
    ("slice-between", "$.store.book[1:3].author", BOOKS, AUTHORS[1:3]),
    ("slice-between-past-end", "$.tags[1:9]", BOOKS, ["b"]),
    ("slice-between-empty", "$.tags[2:1]", BOOKS, []),
    ("slice-between-negative-start", "$.tags[-1:2]", BOOKS, ["b", "a", "b"]),
    ("slice-step-ignored", "$.store.book[0:4:2].author", BOOKS, AUTHORS),
    ("slice-of-empty-array", "$.e[1:]", {"e": []}, []),
    # wildcards
    ("wildcard-array", "$.tags[*]", BOOKS, ["a", "b"]),
    ("wildcard-object", "$.store.bicycle.*", BOOKS, ["red", 19.95]),
    ("wildcard-dot-bracket", "$.tags.[*]", BOOKS, ["a", "b"]),
    ("wildcard-then-name", "$.store.book[*].author", BOOKS, AUTHORS),
    ("wildcard-skips-missing", "$.store.book[*].isbn", BOOKS, ["0-553", "0-395"]),
    ("wildcard-on-scalar", "$.expensive.*", BOOKS, []),
    # an indefinite path whose beginning is missing selects nothing (AWS-recorded)
    ("indefinite-missing-prefix", "$.item.items[*]", {}, []),
    ("indefinite-missing-prefix-slice", "$.items[1:].itemValue", {}, []),
    # deep scan
    ("scan-name", "$..author", BOOKS, AUTHORS),
    ("scan-name-document-order", "$..x", {"a": {"x": 1, "b": {"x": 2}}, "c": {"x": 3}}, [1, 2, 3]),
    ("scan-below", "$.store..price", BOOKS, [8.95, 12.99, 8.99, 22.99, 19.95]),
    ("scan-bracket-name", "$..['color']", BOOKS, ["red"]),
    ("scan-wildcard", "$..*", {"a": {"b": 1}}, [{"b": 1}, 1]),
    ("scan-index", "$..book[2].title", BOOKS, ["Moby Dick"]),
    ("scan-filter", "$..[?(@.price > 20)].title", BOOKS, ["Rings"]),
    # filters: comparisons
    ("filter-eq-string", "$.store.book[?(@.category == 'reference')].author", BOOKS, ["Nigel Rees"]),
    ("filter-eq-double-quoted", '$.store.book[?(@.category == "reference")].author', BOOKS, ["Nigel Rees"]),
    ("filter-ne", "$.store.book[?(@.category != 'fiction')].author", BOOKS, ["Nigel Rees"]),
    ("filter-lt", "$.store.book[?(@.price < 9)].author", BOOKS, ["Nigel Rees", "Herman Melville"]),
    ("filter-le", "$.store.book[?(@.price <= 8.99)].author", BOOKS, ["Nigel Rees", "Herman Melville"]),
    ("filter-gt", "$.store.book[?(@.price > 20)].author", BOOKS, ["J. R. R. Tolkien"]),
    ("filter-ge", "$.store.book[?(@.price >= 22.99)].author", BOOKS, ["J. R. R. Tolkien"]),
    ("filter-no-blanks", "$.store.book[?(@.price>20)].author", BOOKS, ["J. R. R. Tolkien"]),
    ("filter-literal-on-left", "$.store.book[?(20 < @.price)].author", BOOKS, ["J. R. R. Tolkien"]),
    (
        "filter-number-equals-numeric-text",
        "$.a[?(@.v == '5')].i",
        {"a": [{"v": 5, "i": 1}, {"v": "5", "i": 2}]},
        [1, 2],
    ),
    (
        "filter-numeric-text-equals-number",
        "$.a[?(@.v == 5)].i",
        {"a": [{"v": "5", "i": 1}, {"v": 5, "i": 2}]},
        [1, 2],
    ),
    # a text on the left compares as text: "5" is not the text of 5.0
    (
        "filter-text-compares-as-text",
        "$.a[?(@.v == 5.0)].i",
        {"a": [{"v": "5", "i": 1}, {"v": 5, "i": 2}]},
        [2],
    ),
    ("filter-true-is-not-one", "$.a[?(@.v == 1)].i", {"a": [{"v": True, "i": 1}, {"v": 1.0, "i": 2}]}, [2]),
    ("filter-eq-null", "$.a[?(@.v == null)].i", {"a": [{"v": None, "i": 1}, {"i": 2}]}, [1]),
    ("filter-eq-boolean", "$.a[?(@.v == true)].i", {"a": [{"v": True, "i": 1}, {"v": "true", "i": 2}]}, [1]),
    ("filter-ne-missing", "$.a[?(@.v != 1)].i", {"a": [{"v": 1, "i": 1}, {"i": 2}]}, [2]),
    ("filter-strings-ordered", "$.a[?(@.v < 'b')].i", {"a": [{"v": "a", "i": 1}, {"v": "c", "i": 2}]}, [1]),
    ("filter-type-safe-eq", "$.a[?(@.v === 5)].i", {"a": [{"v": 5, "i": 1}, {"v": "5", "i": 2}]}, [1]),
    ("filter-eq-json", "$.a[?(@.v == [1, 2])].i", {"a": [{"v": [1, 2], "i": 1}, {"v": [2], "i": 2}]}, [1]),
    # filters: the document root and logic
    (
        "filter-root-reference",
        "$.store.book[?(@.price > $.expensive)].author",
        BOOKS,
        ["Evelyn Waugh", "J. R. R. Tolkien"],
    ),
    (
        "filter-root-reference-then-name",
        "$.approaches[?(@.workerId == $.agent_id)].approach",
        {
            "agent_id": "w2",
            "approaches": [{"workerId": "w1", "approach": "A"}, {"workerId": "w2", "approach": "B"}],
        },
        ["B"],
    ),
    ("filter-dot-before-filter", "$.[?(@.OU > 0)]", [{"OU": 1}, {"OU": 0}], [{"OU": 1}]),
    ("filter-and", "$.store.book[?(@.category == 'fiction' && @.price < 10)].title", BOOKS, ["Moby Dick"]),
    (
        "filter-or",
        "$.store.book[?(@.price < 9 || @.price > 20)].title",
        BOOKS,
        ["Sayings", "Moby Dick", "Rings"],
    ),
    (
        "filter-parenthesised",
        "$.store.book[?((@.price < 9) || (@.isbn == '0-395'))].title",
        BOOKS,
        ["Sayings", "Moby Dick", "Rings"],
    ),
    # Jayway folds && and || from the right: a && b || c is a && (b || c)
    (
        "filter-logic-folds-right",
        "$.a[?(@.x == 1 && @.y == 1 || @.z == 1)].i",
        {"a": [{"x": 0, "y": 1, "z": 1, "i": 1}]},
        [],
    ),
    # filters: existence
    ("filter-exists", "$.store.book[?(@.isbn)].title", BOOKS, ["Moby Dick", "Rings"]),
    (
        "filter-exists-null-and-false-count",
        "$.a[?(@.v)].i",
        {"a": [{"v": None, "i": 1}, {"v": False, "i": 2}, {"i": 3}]},
        [1, 2],
    ),
    ("filter-not-exists", "$.store.book[?(!@.isbn)].title", BOOKS, ["Sayings", "Sword"]),
    ("filter-exists-nothing", "$.store.book[?(@.nothing)]", BOOKS, []),
    # filters: regular expressions (the whole text must match)
    ("filter-regex", "$.store.book[?(@.author =~ /.*Rees/)].title", BOOKS, ["Sayings"]),
    ("filter-regex-whole-text", "$.store.book[?(@.author =~ /Rees/)].title", BOOKS, []),
    ("filter-regex-case-insensitive", "$.store.book[?(@.author =~ /.*rees/i)].title", BOOKS, ["Sayings"]),
    # filters: word operators
    ("filter-in", "$.store.book[?(@.price in [8.95, 22.99])].title", BOOKS, ["Sayings", "Rings"]),
    (
        "filter-in-single-quoted-json",
        "$.store.book[?(@.category in ['reference'])].title",
        BOOKS,
        ["Sayings"],
    ),
    ("filter-nin", "$.store.book[?(@.category nin ['fiction'])].title", BOOKS, ["Sayings"]),
    (
        "filter-in-path",
        "$.a[?(@.v in $.allowed)].i",
        {"allowed": [2], "a": [{"v": 1, "i": 1}, {"v": 2, "i": 2}]},
        [2],
    ),
    (
        "filter-subsetof",
        "$.a[?(@.t subsetof ['x', 'y'])].i",
        {"a": [{"t": ["x"], "i": 1}, {"t": ["z"], "i": 2}]},
        [1],
    ),
    (
        "filter-anyof",
        "$.a[?(@.t anyof ['x', 'z'])].i",
        {"a": [{"t": ["x"], "i": 1}, {"t": ["y"], "i": 2}]},
        [1],
    ),
    ("filter-noneof", "$.a[?(@.t noneof ['x'])].i", {"a": [{"t": ["x"], "i": 1}, {"t": ["y"], "i": 2}]}, [2]),
    ("filter-size-array", "$.a[?(@.t size 2)].i", {"a": [{"t": [1, 2], "i": 1}, {"t": [1], "i": 2}]}, [1]),
    ("filter-size-string", "$.a[?(@.t size 2)].i", {"a": [{"t": "ab", "i": 1}, {"t": "abc", "i": 2}]}, [1]),
    ("filter-empty", "$.a[?(@.t empty true)].i", {"a": [{"t": [], "i": 1}, {"t": "x", "i": 2}]}, [1]),
    (
        "filter-contains",
        "$.a[?(@.t contains 'x')].i",
        {"a": [{"t": ["x"], "i": 1}, {"t": "axb", "i": 2}]},
        [1, 2],
    ),
    ("filter-operator-case-insensitive", "$.a[?(@.v IN [1])].i", {"a": [{"v": 1, "i": 1}]}, [1]),
    # filters: what they apply to
    (
        "filter-on-object-tests-the-object",
        "$.bicycle[?(@.color == 'red')]",
        BOOKS["store"],
        [{"color": "red", "price": 19.95}],
    ),
    ("filter-skips-scalars", "$.n[?(@ > 1)]", {"n": [1, 2, 3]}, []),
    ("filter-on-missing", "$.none[?(@.a)]", {}, []),
    # functions: accepted in a definition, matched against nothing at run time
    ("function-definite-miss", "$.tags.length()", BOOKS, PathMissing),
    ("function-indefinite-miss", "$.store.book[*].length()", BOOKS, []),
    ("function-with-arguments", "$.sum(1, $.x)", {"x": 1}, PathMissing),
    # definite misses (States.Runtime at run time)
    ("miss-leaf", "$.nope", BOOKS, PathMissing),
    ("miss-inner", "$.nope.deeper", BOOKS, PathMissing),
    ("miss-index", "$.tags[9]", BOOKS, PathMissing),
    ("miss-name-on-array", "$.tags.first", BOOKS, PathMissing),
    ("miss-index-on-object", "$.store[0]", BOOKS, PathMissing),
    ("filter-on-scalar", "$.expensive[?(@.a)]", BOOKS, []),
]


@pytest.mark.parametrize(
    ("path", "document", "expected"), [r[1:] for r in SELECTS], ids=[r[0] for r in SELECTS]
)
def test_each_construct_selects_what_aws_selects(path: str, document: Any, expected: Any) -> None:
    compiled = compile_path(path)
    if expected is PathMissing:
        with pytest.raises(PathMissing):
            compiled.get(document)
    else:
        assert compiled.get(document) == expected


MISS_DETAILS: list[tuple[str, str, Any, str]] = [
    ("miss-leaf", "$.nope", BOOKS, "No results for path: $['nope']"),
    ("miss-inner", "$.nope.deeper", BOOKS, "Missing property in path $['nope']"),
    ("miss-index-inner", "$.tags[9].x", BOOKS, "No results for path: $['tags'][9]['x']"),
    ("miss-bracket-quote-kept", '$["nope"]', BOOKS, 'No results for path: $["nope"]'),
    ("miss-null-array", "$.v[0]", {"v": None}, "The path $['v'] is null"),
    (
        "miss-index-on-object",
        "$.v[0]",
        {"v": {"a": 1}},
        'Filter: [0] can only be applied to arrays. Current context is: {"a":1}',
    ),
    ("miss-function", "$.v.length()", {"v": {}}, "No results for path: $['v']['length()']"),
]


@pytest.mark.parametrize(
    ("path", "document", "detail"), [r[1:] for r in MISS_DETAILS], ids=[r[0] for r in MISS_DETAILS]
)
def test_misses_are_worded_as_jayway_words_them(path: str, document: Any, detail: str) -> None:
    with pytest.raises(PathMissing) as info:
        compile_path(path).get(document)
    assert info.value.detail == detail


NOT_PATHS: list[tuple[str, str]] = [
    ("empty", ""),
    ("no-root", "a.b"),
    ("root-then-name", "$a b"),
    ("trailing-dot", "$.a."),
    ("trailing-scan", "$.a.."),
    ("three-dots", "$...a"),
    ("blank-in-name", "$.a b"),
    ("dot-blank", "$. a"),
    ("unclosed-bracket", "$['a'"),
    ("unclosed-quote", "$['a]"),
    ("empty-bracket", "$[]"),
    ("bare-word-in-bracket", "$[a]"),
    ("empty-union-member", "$['a',,'b']"),
    ("junk-after-name", "$['a' x]"),
    ("index-not-a-number", "$[1a]"),
    ("index-overflow", "$[99999999999]"),
    ("slice-no-bounds", "$[:]"),
    ("slice-step-only", "$[::2]"),
    ("wildcard-junk", "$[*x]"),
    ("filter-without-parentheses", "$[?@.a]"),
    ("filter-unclosed", "$[?(@.a == 1]"),
    ("filter-unbalanced", "$[?((@.a == 1)]"),
    ("filter-missing-operand", "$[?(@.a >)]"),
    ("filter-unknown-operator", "$[?(@.a <> 1)]"),
    ("filter-single-ampersand", "$[?(@.a & @.b)]"),
    ("filter-bad-literal", "$[?(@.a == yes)]"),
    ("filter-unclosed-string", "$[?(@.a == 'x)]"),
    ("filter-unclosed-pattern", "$[?(@.a =~ /x)]"),
    ("filter-bad-pattern", "$[?(@.a =~ /(/)]"),
    ("filter-literal-alone", "$[?(1)]"),
    ("function-unclosed", "$.a.length("),
    ("current-node-outside-filter", "@.a"),
]


@pytest.mark.parametrize("text", [r[1] for r in NOT_PATHS], ids=[r[0] for r in NOT_PATHS])
def test_texts_that_are_not_paths(text: str) -> None:
    with pytest.raises(PathSyntaxError):
        compile_path(text)


# A Reference Path (ResultPath, ItemsPath, SecondsPath, MaxConcurrencyPath, ...) identifies one
# node: names and single indices only (ASL specification; AWS docs: no `@ .. , : ? *`, no
# functions such as `length()`).
REFERENCE: list[tuple[str, str, bool]] = [
    ("ref-root", "$", True),
    ("ref-name", "$.a.b", True),
    ("ref-bracket", "$['a b']", True),
    ("ref-index", "$.a[0]", True),
    ("ref-negative-index", "$.a[-1]", True),
    ("ref-dot-bracket", "$.a.[0].b", True),
    ("ref-context", "$$.Execution.Input.items", True),
    ("ref-variable", "$items[0]", True),
    ("ref-wildcard", "$.a[*]", False),
    ("ref-scan", "$..a", False),
    ("ref-union", "$['a','b']", False),
    ("ref-index-list", "$.a[0,1]", False),
    ("ref-slice", "$.a[1:]", False),
    ("ref-filter", "$.a[?(@.b)]", False),
    ("ref-function", "$.a.length()", False),
]


@pytest.mark.parametrize(("text", "ok"), [r[1:] for r in REFERENCE], ids=[r[0] for r in REFERENCE])
def test_reference_paths(text: str, ok: bool) -> None:
    if ok:
        assert compile_reference_path(text).definite
    else:
        with pytest.raises(PathSyntaxError, match="Reference Path"):
            compile_reference_path(text)


def test_long_paths_and_deep_documents_do_not_recurse() -> None:
    deep: Any = 1
    for _ in range(400):
        deep = {"a": deep}
    assert compile_path("$" + ".a" * 400).get(deep) == 1
    assert compile_path("$..a").get(deep)[-1] == 1
    assert compile_path("$" + "[*]" * 3000).get([]) == []
