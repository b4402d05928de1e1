-- Least-privilege roles for the gene-pair warehouse on SQL Server (run in the warehouse
-- database as db_owner; idempotent). Same three roles as sql/roles/postgres.sql:
--   etl_reader  SELECT on the published schemas (dim, fact, analytics, meta) only
--   etl_loader  etl_reader + writes to what the loader and the scoring step write
--               (staging, analytics.pair_study_components / feature_runs, the meta logs,
--               dim.study_disease_map); bulk copy needs only INSERT because the loader
--               asks for CHECK_CONSTRAINTS and FIRE_TRIGGERS (else INSERT BULK needs ALTER)
--   etl_admin   etl_loader + DDL on every schema (dbt build) and EXECUTE on the procedures
-- Add users to roles:  ALTER ROLE etl_reader ADD MEMBER [alice];
-- Not run against a live SQL Server here (see README "What is verified where").
IF DATABASE_PRINCIPAL_ID(N'etl_reader') IS NULL CREATE ROLE etl_reader;
IF DATABASE_PRINCIPAL_ID(N'etl_loader') IS NULL CREATE ROLE etl_loader;
IF DATABASE_PRINCIPAL_ID(N'etl_admin') IS NULL CREATE ROLE etl_admin;
ALTER ROLE etl_reader ADD MEMBER etl_loader;
ALTER ROLE etl_loader ADD MEMBER etl_admin;

-- readers: the published schemas (schema-level grants cover tables dbt creates later)
GRANT SELECT ON SCHEMA::dim TO etl_reader;
GRANT SELECT ON SCHEMA::fact TO etl_reader;
GRANT SELECT ON SCHEMA::analytics TO etl_reader;
GRANT SELECT ON SCHEMA::meta TO etl_reader;

-- loaders: staging (the bulk path), the scoring components and the run logs; no DDL
GRANT SELECT, INSERT, UPDATE, DELETE ON SCHEMA::staging TO etl_loader;
GRANT INSERT, UPDATE, DELETE ON OBJECT::analytics.pair_study_components TO etl_loader;
GRANT INSERT, UPDATE, DELETE ON OBJECT::analytics.feature_runs TO etl_loader;
GRANT INSERT, UPDATE, DELETE ON OBJECT::meta.meta_etl_process_log TO etl_loader;
GRANT INSERT, UPDATE, DELETE ON OBJECT::meta.meta_data_validation_log TO etl_loader;
GRANT INSERT, UPDATE ON OBJECT::dim.study_disease_map TO etl_loader;

-- admins: create and replace objects in every schema (dbt build), run the procedures
GRANT CREATE TABLE, CREATE VIEW, CREATE PROCEDURE TO etl_admin;
GRANT ALTER, CONTROL ON SCHEMA::staging TO etl_admin;
GRANT ALTER, CONTROL ON SCHEMA::dim TO etl_admin;
GRANT ALTER, CONTROL ON SCHEMA::fact TO etl_admin;
GRANT ALTER, CONTROL ON SCHEMA::analytics TO etl_admin;
GRANT ALTER, CONTROL ON SCHEMA::meta TO etl_admin;
GRANT EXECUTE ON SCHEMA::analytics TO etl_admin;
GRANT EXECUTE ON SCHEMA::dim TO etl_admin;
GRANT EXECUTE ON SCHEMA::meta TO etl_admin;
GRANT EXECUTE ON SCHEMA::qa TO etl_admin;
GRANT EXECUTE ON SCHEMA::staging TO etl_admin;
