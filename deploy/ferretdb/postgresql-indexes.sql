-- Index lookups for FerretDB 1.24 on PostgreSQL. Applied before FerretDB starts; idempotent.
--
-- FerretDB filters documents with `_jsonb -> $1 @> $2` (the field name a bind parameter),
-- which its own btree indexes over `_jsonb -> 'field'` cannot serve: every find, even by
-- _id, scans the whole collection table, so lookups slow down as collections grow. This
-- trigger gives every btree index FerretDB creates a GIN twin over the same expressions
-- (jsonb_path_ops serves @>). With plan_cache_mode = force_custom_plan the planner sees
-- the field name and uses the twin.
--
-- The twins are built without GIN's pending list (fastupdate off): with it, every lookup
-- also scans the list of entries not yet merged, up to 4 MB of them, and PostgreSQL spent
-- about 15% more CPU per upsert by _id (measured with the bench's B_mongo_single).

SET client_min_messages = warning;

CREATE OR REPLACE FUNCTION gridcase_gin_twin() RETURNS event_trigger
LANGUAGE plpgsql AS $$
DECLARE
    created record;
    expressions text;
BEGIN
    FOR created IN
        SELECT i.indexrelid, i.indrelid::regclass AS collection_table, c.relname
        FROM pg_event_trigger_ddl_commands() AS command
        JOIN pg_index AS i ON i.indexrelid = command.objid
        JOIN pg_class AS c ON c.oid = i.indexrelid
        JOIN pg_am AS am ON am.oid = c.relam
        WHERE command.command_tag = 'CREATE INDEX' AND am.amname = 'btree'
    LOOP
        SELECT string_agg(pg_get_indexdef(created.indexrelid, k, true) || ' jsonb_path_ops', ', '
                          ORDER BY k)
        INTO expressions
        FROM generate_series(1, (SELECT indnkeyatts FROM pg_index
                                 WHERE indexrelid = created.indexrelid)) AS k
        WHERE pg_get_indexdef(created.indexrelid, k, true) LIKE '(_jsonb -> %';
        IF expressions IS NOT NULL THEN
            EXECUTE format('CREATE INDEX %I ON %s USING gin (%s) WITH (fastupdate = off)',
                           left(created.relname, 59) || '_gin', created.collection_table,
                           expressions);
        END IF;
    END LOOP;
END
$$;

DROP EVENT TRIGGER IF EXISTS gridcase_gin_twin;
CREATE EVENT TRIGGER gridcase_gin_twin ON ddl_command_end WHEN TAG IN ('CREATE INDEX')
    EXECUTE FUNCTION gridcase_gin_twin();

-- Twins made before fastupdate was turned off.
DO $$
DECLARE
    twin record;
BEGIN
    FOR twin IN
        SELECT c.oid::regclass AS name
        FROM pg_class AS c JOIN pg_am AS am ON am.oid = c.relam
        WHERE am.amname = 'gin' AND c.relname LIKE '%\_gin'
          AND NOT coalesce(c.reloptions @> ARRAY['fastupdate=off'], false)
    LOOP
        EXECUTE format('ALTER INDEX %s SET (fastupdate = off)', twin.name);
    END LOOP;
END
$$;
