with source as (
    select * from {{ source('bronze', 'dim_subjects_staging') }}
    where source_instance_id = {{ var('source_instance_id') }}
),

final as (
    select
        cast(source_id as integer) as subject_id,
        cast(parent_key as integer) as study_id,
        {{ ts_ref_id('data', 'site') }} as site_id,
        -- the subject's patient demographics are PHI: only a salted key of the patient id is kept
        {{ ts_hash(ts_ref_id('data', 'patient')) }} as patient_key,
        data ->> 'status' as subject_status,
        cast(data ->> 'enrollmentDate' as timestamp) as enrollment_date,
        data ->> 'screeningNumber' as screening_number,
        record_hash
    from source
)

select * from final
