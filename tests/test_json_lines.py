"""One JSON value per line (schema.json, manifest.json), all encoded in one call of the encoder."""

from __future__ import annotations

import json

import pytest

from reviewkit.bundle.digest import manifest_bytes
from reviewkit.json_lines import compact, encode_each
from reviewkit.schema.state import Check, Column, Index, IndexPart, Schema, Table, schema_from_json, schema_to_json

# Strings that hold what encode_each splits at, or pieces of it: each must come out whole.
AWKWARD = ["\0", ', "\\u0000", ', 'a", "\0", "b', "}, {", "\\", '"', "é\u2028", ""]


@pytest.mark.parametrize("values", [
    [], [{}], [{}, {}], ["\0", "\0"], [[], {}, None, True, 1.5],
    [{"name": text, "parts": [{"column": text}, {"column": "b"}]} for text in AWKWARD],
    [[text, {"x": text}] for text in AWKWARD],
    [["a", "\0", "b"], {"k": ["x", "\0", "y"]}, "c"],  # what the split looks for, inside a value
    AWKWARD,
])
def test_each_value_is_encoded_as_on_its_own(values) -> None:
    assert encode_each(values) == [compact(value) for value in values]
    assert encode_each(values) == [json.dumps(value, ensure_ascii=False) for value in values]


def test_schema_json_with_awkward_names_reads_back_one_value_per_line() -> None:
    tables = tuple(
        Table(f"t{i}{text}", (Column(f"c{text}", "text", default=f"'{text}'", comment=text or None), Column("n", "integer")),
              checks=(Check(f"k{i}{text}", "n > 0"),),
              indexes=(Index(f"i{i}", (IndexPart(f"c{text}", True), IndexPart("n", True, True))),), comment=text or None)
        for i, text in enumerate(AWKWARD))
    schema = Schema(tables).normalized()
    text = schema_to_json(schema)
    assert schema_from_json(text) == schema
    for line in text.split("\n"):  # not splitlines(): U+2028 stays as it is inside a string
        if line.startswith("        {"):  # a column, a check or an index: a whole object on its line
            json.loads(line.strip().rstrip(","))


def test_manifest_lines_are_whole_objects() -> None:
    manifest = {"id": "0001_x", "operations": [{"op": "add_column", "table": text, "column": {"name": text}}
                                               for text in AWKWARD], "files": {"a": "b"}}
    lines = manifest_bytes(manifest).decode().split("\n")
    operations = [json.loads(line.strip().rstrip(",")) for line in lines if line.startswith("    {")]
    assert operations == manifest["operations"]
    assert json.loads(manifest_bytes(manifest)) == manifest
