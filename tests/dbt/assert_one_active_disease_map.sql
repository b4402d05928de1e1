-- At most one active study -> disease mapping per study (SPEC §6.8).
select
    study_key,
    count(*) as active_mappings
from {{ ref('study_disease_map') }}
where is_active = 1
group by study_key
having count(*) > 1
