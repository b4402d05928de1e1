-- Least-privilege roles for the gene-pair warehouse on PostgreSQL (run as the owner of the
-- warehouse objects, e.g. the account dbt and `genepair load` first ran with; idempotent).
--   etl_reader  SELECT on the published schemas (dim, fact, analytics, meta) only
--   etl_loader  etl_reader + writes to what the loader and the scoring step write:
--               staging, analytics.pair_study_components / feature_runs, the meta logs
--   etl_admin   etl_loader + DDL on every schema (dbt build, stored procedures)
-- Roles are NOLOGIN groups: grant them to login users, e.g.
--   CREATE ROLE alice LOGIN PASSWORD '...' IN ROLE etl_reader;
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'etl_reader') THEN
        CREATE ROLE etl_reader NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'etl_loader') THEN
        CREATE ROLE etl_loader NOLOGIN IN ROLE etl_reader;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'etl_admin') THEN
        CREATE ROLE etl_admin NOLOGIN IN ROLE etl_loader;
    END IF;
END
$$;

-- readers: the published schemas, now and for tables dbt creates later
GRANT USAGE ON SCHEMA dim, fact, analytics, meta TO etl_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA dim, fact, analytics, meta TO etl_reader;
ALTER DEFAULT PRIVILEGES IN SCHEMA dim, fact, analytics, meta GRANT SELECT ON TABLES TO etl_reader;

-- loaders: staging (the bulk path), the scoring components and the run logs; no DDL
GRANT USAGE ON SCHEMA staging TO etl_loader;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA staging TO etl_loader;
ALTER DEFAULT PRIVILEGES IN SCHEMA staging GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO etl_loader;
GRANT SELECT, INSERT, UPDATE, DELETE ON
    analytics.pair_study_components,
    analytics.feature_runs,
    meta.meta_etl_process_log,
    meta.meta_data_validation_log
TO etl_loader;
GRANT SELECT, INSERT, UPDATE ON dim.study_disease_map TO etl_loader;

-- admins: create and replace objects in every schema (dbt build)
GRANT USAGE, CREATE ON SCHEMA staging, dim, fact, analytics, meta TO etl_admin;
GRANT ALL PRIVILEGES ON ALL TABLES IN SCHEMA staging, dim, fact, analytics, meta TO etl_admin;
