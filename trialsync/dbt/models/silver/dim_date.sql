with days as (
    select cast(day as date) as date_day
    from generate_series(cast('2015-01-01' as timestamp), cast('2035-12-31' as timestamp), interval '1 day') as t (day)
),

final as (
    select
        cast(replace(cast(date_day as varchar), '-', '') as integer) as date_key,
        date_day,
        extract(year from date_day) as year_number,
        extract(month from date_day) as month_number,
        extract(day from date_day) as day_of_month,
        extract(quarter from date_day) as quarter_number
    from days
)

select * from final
