"""The catalog queries PostgreSQL's introspection runs (`introspect` reads their rows).

They are apart from `introspect`, which needs sqlglot, so that `baseline` can send them
(`Connection.prefetch`) before it loads the parser: the server answers them while this
process imports what it needs next.
"""

from __future__ import annotations

# A column of a domain reads as the domain's base type with the domain's NOT NULL and
# default (its checks are read by DOMAIN_CHECKS), as the models read a domain. The
# comments are joined, not read by col_description / obj_description, which look each one
# up on its own: two thirds of the query's time on 10,000 columns. The last column says whether
# the column compares bytes: collation "C" or "POSIX" (oids 950 and 951 on every server).
COLUMNS = """
SELECT c.relname, a.attname,
       CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) ELSE format_type(a.atttypid, a.atttypmod) END,
       a.attnotnull OR coalesce(t.typtype = 'd' AND t.typnotnull, false),
       coalesce(pg_get_expr(d.adbin, d.adrelid), CASE WHEN t.typtype = 'd' THEN t.typdefault END),
       a.attidentity, a.attgenerated <> '',
       cd.description, td.description,
       CASE WHEN t.typtype = 'd' THEN t.oid END,
       c.oid, a.attnum,
       a.attcollation IN (950, 951)
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
LEFT JOIN pg_description cd ON cd.objoid = c.oid AND cd.classoid = 'pg_class'::regclass AND cd.objsubid = a.attnum
LEFT JOIN pg_description td ON td.objoid = c.oid AND td.classoid = 'pg_class'::regclass AND td.objsubid = 0
WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND NOT EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid)  -- partitions and INHERITS children: not modelled
ORDER BY c.relname, a.attnum
"""

DOMAIN_CHECKS = """
SELECT con.contypid, pg_get_expr(con.conbin, 0)
FROM pg_constraint con
WHERE con.contypid <> 0 AND con.contype = 'c'
ORDER BY con.contypid, con.conname
"""

# The keys' columns come as numbers, named from what COLUMNS read: naming them here, one
# subquery per constraint, was three quarters of the query's time on 3000 constraints.
CONSTRAINTS = """
SELECT c.relname, con.conname, con.contype, con.conrelid, con.conkey,
       ref.relname, con.confrelid, con.confkey,
       con.confdeltype, con.confupdtype, pg_get_expr(con.conbin, con.conrelid)
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_class ref ON ref.oid = con.confrelid
WHERE n.nspname = current_schema() AND con.contype IN ('p', 'u', 'c', 'f')
ORDER BY c.relname, con.conname
"""

# The columns of tables COLUMNS does not read: a foreign key may reference one in another schema.
OTHER_COLUMNS = """
SELECT attrelid, attnum, attname FROM pg_attribute WHERE attrelid = ANY(%s::oid[]) AND attnum > 0
"""

# Indexes that back a primary key, unique or exclusion constraint are read as constraints.
# An INVALID index (what an interrupted CREATE INDEX CONCURRENTLY leaves) serves no query:
# it is not part of the schema, so drift reports the index missing and a resumed run builds it.
# pg_get_indexdef deparses each index on its own: four fifths of the query's time on 2,000
# indexes on a new connection. A plain index (btree, column keys in their default order,
# each key's default operator class and collation, no filter, INCLUDE, NULLS NOT DISTINCT or
# storage options; `qualified` finds the keys its definition would qualify) comes as its key
# columns' numbers and DESC flags instead, which say all its definition would, and a NULL
# definition. (to_jsonb reads indnullsnotdistinct where the server has it: PostgreSQL 15.)
INDEXES = """
WITH ix AS (
  SELECT ix.*, t.relname AS table_name, i.relname AS index_name, i.relkind, i.reloptions, i.relam
  FROM pg_index ix
  JOIN pg_class i ON i.oid = ix.indexrelid
  JOIN pg_class t ON t.oid = ix.indrelid
  JOIN pg_namespace n ON n.oid = t.relnamespace
  WHERE n.nspname = current_schema() AND ix.indisvalid
    AND NOT EXISTS (SELECT 1 FROM pg_constraint con
                    WHERE con.conindid = ix.indexrelid AND con.conrelid = ix.indrelid
                      AND con.contype IN ('p', 'u', 'x'))
), qualified AS (
  SELECT DISTINCT k.indexrelid
  FROM (SELECT indexrelid, indrelid, unnest(indkey::int2[]) AS attnum, unnest(indoption::int2[]) AS opt,
               unnest(indclass::oid[]) AS opclass, unnest(indcollation::oid[]) AS coll FROM ix) k
  JOIN pg_attribute a ON a.attrelid = k.indrelid AND a.attnum = k.attnum
  JOIN pg_type ty ON ty.oid = a.atttypid
  JOIN pg_opclass oc ON oc.oid = k.opclass
  WHERE k.opt NOT IN (0, 3) OR k.coll <> a.attcollation OR NOT oc.opcdefault
     OR oc.opcintype <> CASE WHEN ty.typtype = 'd' THEN ty.typbasetype ELSE ty.oid END
        AND NOT (oc.opcintype = 'text'::regtype
                 AND CASE WHEN ty.typtype = 'd' THEN ty.typbasetype ELSE ty.oid END = 'varchar'::regtype)
)
SELECT ix.table_name, ix.index_name,
       CASE WHEN am.amname = 'btree' AND ix.relkind = 'i' AND ix.reloptions IS NULL
                 AND ix.indexprs IS NULL AND ix.indpred IS NULL AND ix.indnkeyatts = ix.indnatts
                 AND (NOT ix.indisunique OR NOT coalesce((to_jsonb(ix) ->> 'indnullsnotdistinct')::boolean, false))
                 AND ix.indexrelid NOT IN (SELECT indexrelid FROM qualified)
            THEN NULL ELSE pg_get_indexdef(ix.indexrelid) END,
       ix.indisunique, ix.indrelid, ix.indkey::text, ix.indoption::text
FROM ix JOIN pg_am am ON am.oid = ix.relam
ORDER BY ix.table_name, ix.index_name
"""

ENUMS = """
SELECT t.typname, e.enumlabel
FROM pg_type t
JOIN pg_namespace n ON n.oid = t.typnamespace
JOIN pg_enum e ON e.enumtypid = t.oid
WHERE n.nspname = current_schema()
ORDER BY t.typname, e.enumsortorder
"""

# The triggers reviewkit writes for ON UPDATE CURRENT_TIMESTAMP, with their functions' bodies.
TOUCH_TRIGGERS = """
SELECT c.relname, p.prosrc
FROM pg_trigger tg
JOIN pg_class c ON c.oid = tg.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_proc p ON p.oid = tg.tgfoid
WHERE n.nspname = current_schema() AND NOT tg.tgisinternal AND tg.tgname LIKE 'reviewkit\\_touch\\_%'
"""

# Views: the columns they return, and the check option PostgreSQL keeps among the view's options.
VIEWS = """
SELECT c.relname, a.attname,
       (SELECT option_value FROM pg_options_to_table(c.reloptions) WHERE option_name = 'check_option')
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE n.nspname = current_schema() AND c.relkind = 'v'
ORDER BY c.relname, a.attnum
"""

# What a PostgreSQL schema can hold that reviewkit does not model, counted for `baseline`
# to name what it leaves out. Objects of extensions and reviewkit's own triggers are not counted.
UNMODELLED = """
SELECT 'function', count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = current_schema() AND p.proname NOT LIKE 'reviewkit\\_touch\\_%'
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
UNION ALL
SELECT 'trigger', count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = current_schema() AND NOT t.tgisinternal AND t.tgname NOT LIKE 'reviewkit\\_touch\\_%'
UNION ALL
SELECT 'partition or inheriting table', count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
UNION ALL
SELECT 'materialized view', count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = current_schema() AND c.relkind = 'm'
UNION ALL
SELECT 'exclusion constraint', count(*) FROM pg_constraint con JOIN pg_namespace n ON n.oid = con.connamespace
 WHERE n.nspname = current_schema() AND con.contype = 'x'
UNION ALL
SELECT 'rule', count(*) FROM pg_rules WHERE schemaname = current_schema()
UNION ALL
SELECT 'row security policy', count(*) FROM pg_policies WHERE schemaname = current_schema()
"""

# What the models cannot say of the objects they do hold (`unmodelled_properties`).
_UNMODELLED_PROPERTIES = """
SELECT 'table', c.relname::text, 'persistence', 'unlogged'  -- text: a column of type name would cut "t.key" at 63 bytes
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND c.relpersistence = 'u'
UNION ALL
SELECT * FROM (
  SELECT CASE WHEN c.relkind = 'v' THEN 'view' ELSE 'table' END, c.relname::text,
         CASE WHEN c.relkind = 'v' THEN 'options' ELSE 'storage' END,
         array_to_string(ARRAY(SELECT o FROM unnest(c.reloptions) o WHERE left(o, 13) <> 'check_option='), ', ') AS said
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace  -- a view's security_barrier (its check option is modelled)
  WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v') AND c.reloptions IS NOT NULL AND NOT c.relispartition
) options WHERE said <> ''
UNION ALL
SELECT 'table', c.relname::text, 'row security', CASE WHEN c.relforcerowsecurity THEN 'forced' ELSE 'enabled' END
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace  -- with no policy, only the owner sees a row
WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND c.relrowsecurity AND NOT c.relispartition
UNION ALL
SELECT 'constraint', c.relname || '.' || con.conname, 'deferrable',
       CASE WHEN con.condeferred THEN 'initially deferred' ELSE 'initially immediate' END
FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND con.condeferrable AND NOT c.relispartition
UNION ALL
SELECT 'constraint', c.relname || '.' || con.conname, 'match', 'full'
FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND con.contype = 'f' AND con.confmatchtype = 'f' AND NOT c.relispartition
UNION ALL
SELECT CASE WHEN con.oid IS NULL THEN 'index' ELSE 'constraint' END, t.relname || '.' || i.relname, 'nulls', 'not distinct'
FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid JOIN pg_class t ON t.oid = ix.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
LEFT JOIN pg_constraint con ON con.conindid = ix.indexrelid AND con.contype = 'u'
WHERE n.nspname = current_schema() AND {nulls_not_distinct} AND NOT t.relispartition
{delete_set_columns}UNION ALL
SELECT 'constraint', c.relname || '.' || con.conname, 'validated', 'not valid'
FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND NOT con.convalidated AND NOT c.relispartition
UNION ALL
SELECT 'column', c.relname || '.' || a.attname, 'sequence',
       concat_ws(', ', CASE WHEN s.seqstart <> 1 THEN 'start with ' || s.seqstart END,
                 CASE WHEN s.seqincrement <> 1 THEN 'increment by ' || s.seqincrement END,
                 CASE WHEN s.seqmin <> 1 THEN 'minvalue ' || s.seqmin END,
                 CASE WHEN s.seqmax NOT IN (32767, 2147483647, 9223372036854775807) THEN 'maxvalue ' || s.seqmax END,
                 CASE WHEN s.seqcycle THEN 'cycle' END)
FROM pg_sequence s  -- the few sequences that are not a plain counter first, then the column each feeds
CROSS JOIN LATERAL (
  SELECT d.refobjid AS rel, d.refobjsubid AS att FROM pg_depend d  -- an identity's, a serial's (OWNED BY)
  WHERE d.classid = 'pg_class'::regclass AND d.objid = s.seqrelid AND d.refclassid = 'pg_class'::regclass
    AND d.deptype IN ('a', 'i')
  UNION
  SELECT ad.adrelid, ad.adnum FROM pg_depend d JOIN pg_attrdef ad ON ad.oid = d.objid  -- a DEFAULT nextval('s')
  WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = s.seqrelid AND d.classid = 'pg_attrdef'::regclass) u
JOIN pg_class c ON c.oid = u.rel JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = u.att
WHERE (s.seqstart <> 1 OR s.seqincrement <> 1 OR s.seqmin <> 1 OR s.seqcycle
       OR s.seqmax NOT IN (32767, 2147483647, 9223372036854775807))
  AND n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition
UNION ALL
SELECT 'column', c.relname || '.' || a.attname, 'collation', co.collname
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_type t ON t.oid = a.atttypid JOIN pg_collation co ON co.oid = a.attcollation
WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND a.attnum > 0 AND NOT a.attisdropped AND a.attcollation NOT IN (0, 100, 950, 951) AND a.attcollation <> t.typcollation
ORDER BY 2, 3
"""



# PostgreSQL 15's ON DELETE SET NULL (column, ...): only those columns are set.
_DELETE_SET_COLUMNS = """UNION ALL
SELECT 'constraint', c.relname || '.' || con.conname, 'on delete',
       'set ' || CASE con.confdeltype WHEN 'n' THEN 'null' ELSE 'default' END || ' (' ||
       (SELECT string_agg(a.attname, ', ' ORDER BY k.i) FROM unnest(con.confdelsetcols) WITH ORDINALITY k(n, i)
        JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n) || ')'
FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND con.confdelsetcols IS NOT NULL AND NOT c.relispartition
"""


def unmodelled_properties(server_version: int) -> str:
    """Return the query of what the models cannot say, for a server of `server_version` (`160004`): before
    PostgreSQL 15 no index has NULLS NOT DISTINCT and no key sets only some columns on delete, and the
    catalog has no column that says so."""
    since_15 = server_version >= 150000
    return _UNMODELLED_PROPERTIES.format(nulls_not_distinct="ix.indnullsnotdistinct" if since_15 else "false",
                                         delete_set_columns=_DELETE_SET_COLUMNS if since_15 else "")


VIEW_QUERIES = """
SELECT c.relname, pg_get_viewdef(c.oid, true)
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND c.relkind = 'v'
"""


# What `baseline` reads, none of which takes parameters: sent ahead, together.
def prefetched(server_version: int) -> tuple[str, ...]:
    """Return the queries `baseline` sends ahead, as introspection will ask for them on a server of `server_version`."""
    return (COLUMNS, DOMAIN_CHECKS, CONSTRAINTS, INDEXES, ENUMS, TOUCH_TRIGGERS, VIEWS, UNMODELLED,
            unmodelled_properties(server_version), VIEW_QUERIES)
