"""The schema state and what acts on it: plain data, no SQL, no connections.

`state` (tables, columns, keys, indexes; `schema.json`), `types` (portable column types),
`expressions` (the canonical form of defaults, checks and index keys), `naming` (the names
unnamed constraints get) and `operations` (what a bundle does, and its reverse).
"""
