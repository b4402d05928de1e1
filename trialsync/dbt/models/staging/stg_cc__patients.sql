-- Patients are PHI. Names, birth date, contact data, SSN, MRN, insurance and guardian never
-- leave bronze: the patient is a salted hash key, the birth date becomes the birth year, and
-- only coarse demographics are kept.
with source as (
    select * from {{ source('bronze', 'dim_patients_staging') }}
    where source_instance_id = {{ var('source_instance_id') }}
),

final as (
    select
        {{ ts_hash('source_id') }} as patient_key,
        extract(year from cast(data ->> 'dateOfBirth' as timestamp)) as birth_year,
        data ->> 'genderCode' as gender_code,
        data ->> 'status' as patient_status,
        {{ ts_ref_id('data', 'primarySite') }} as primary_site_id,
        {{ ts_hash('record_hash') }} as row_version
    from source
)

select * from final
