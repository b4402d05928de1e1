-- Facts for a study always come from exactly one current batch.
select
    study_accession_code,
    count(*) as current_batches
from {{ ref('stg_refinebio__batches') }}
where is_current = 1
group by study_accession_code
having count(*) > 1
