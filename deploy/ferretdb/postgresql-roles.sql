-- Least privilege for FerretDB 1.24 on PostgreSQL. Applied before FerretDB starts; idempotent.
--
-- FerretDB passes each client's PLAIN user name and password through to PostgreSQL and
-- keeps a Mongo database as a PostgreSQL schema. So each service logs in as its own role,
-- which owns its schema (its database) and is granted nothing else: another service's
-- schema is not even visible to it. A role may create schemas (FerretDB runs CREATE
-- SCHEMA IF NOT EXISTS before a database's first collection, which PostgreSQL allows only
-- with CREATE on the database), and owns those; the service's usual schema is made here,
-- so no other role can take its name.

SET client_min_messages = warning;

REVOKE ALL ON DATABASE postgres FROM PUBLIC;
REVOKE ALL ON SCHEMA public FROM PUBLIC;

CREATE OR REPLACE PROCEDURE gridcase_service_role(role_name name, password text, schema_name name)
LANGUAGE plpgsql AS $$
DECLARE
    foreign_table regclass;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = role_name) THEN
        EXECUTE format('CREATE ROLE %I', role_name);
    END IF;
    EXECUTE format('ALTER ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION '
                   'NOBYPASSRLS PASSWORD %L', role_name, password);
    EXECUTE format('GRANT CONNECT, CREATE ON DATABASE postgres TO %I', role_name);
    EXECUTE format('CREATE SCHEMA IF NOT EXISTS %I AUTHORIZATION %I', schema_name, role_name);
    EXECUTE format('ALTER SCHEMA %I OWNER TO %I', schema_name, role_name);
    EXECUTE format('REVOKE ALL ON SCHEMA %I FROM PUBLIC', schema_name);
    -- Tables made before the service had its own role (owned by the administrator).
    FOR foreign_table IN
        SELECT c.oid::regclass
        FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
        WHERE n.nspname = schema_name AND c.relkind = 'r' AND c.relowner <> role_name::regrole
    LOOP
        EXECUTE format('ALTER TABLE %s OWNER TO %I', foreign_table, role_name);
    END LOOP;
END
$$;
