{{ config(severity='warn') }}
-- Illness label coverage >= var qc_illness_coverage_min per study (SPEC §6.3), a warning.
select
    study_accession_code,
    illness_coverage
from {{ ref('meta_study_qc') }}
where illness_coverage < {{ var('qc_illness_coverage_min') }}
