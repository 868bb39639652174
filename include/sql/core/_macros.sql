{#- Pieces every core SQL file shares; a file imports them with
    {% from 'core/_macros.sql' import latest_in_part, quarantine %} -#}

{#- The part's staged rows of `entity`, only the latest version of each natural key (its highest line
    number in the part), as a FROM item: `from {{ latest_in_part('clients') }} as s`. A hash anti-join:
    no sort of the part. Only when %(repeated_keys)s (core.py checks the part first, with a narrow
    aggregate): with no key repeated every row is the latest, and the anti-join, whose hash of a big part
    spills every wide row to disk and back (11 GB for the payments of a million clients), is left out. -#}
{% macro latest_in_part(entity) -%}
(
    select v.* from staging.{{ entity }} as v
    where v.batch_id = %(batch_id)s and v.part_no = %(part_no)s
      and (not %(repeated_keys)s or not exists (
          select 1 from staging.{{ entity }} as later
          where later.batch_id = v.batch_id and later.part_no = v.part_no
            and later.natural_key = v.natural_key and later.line_no > v.line_no
      ))
)
{%- endmacro %}

{#- Every record of the part's temp table `part_table` with a reason goes to meta.quarantine, with its
    file, line and raw text (`raw`: the column holding it). Idempotent per (entity, part, line). -#}
{% macro quarantine(entity, part_table, raw='record::text') -%}
insert into meta.quarantine (layer, entity, batch_id, part_no, source_file, line_no, reason, raw)
select 'core', '{{ entity }}', %(batch_id)s, %(part_no)s, source_file, line_no, reason, {{ raw }}
from {{ part_table }} where reason is not null
on conflict do nothing;
{%- endmacro %}


{#- The one definition of an instalment's overdue flags as of a date, as a LATERAL item over the instalment
    row `i` (columns due_date, paid_date, amount_due, amount_paid) and the SQL date expression `as_of`:
    `cross join {{ instalment_flags('i', '%(as_of)s::date') }} as f` gives f.is_overdue, f.overdue_reason,
    f.days_past_due, f.dpd_bucket.
    Overdue (the seed project's measure): paid after the due date, paid less than due, or unpaid past due.
    days_past_due: for an instalment still owed past its due date, days from due date to as_of; for one
    paid late in full, the days it was late. -#}
{% macro instalment_flags(i, as_of) -%}
lateral (
    select
        d.days_past_due,
        d.owed_past_due or d.paid_late or d.paid_short as is_overdue,
        case
            when d.owed_past_due then 'unpaid past due'
            when d.paid_late and d.paid_short then 'paid late and short'
            when d.paid_late then 'paid late'
            when d.paid_short then 'paid short'
        end as overdue_reason,
        case
            when d.days_past_due = 0 then 'current'
            when d.days_past_due <= 30 then '1-30'
            when d.days_past_due <= 60 then '31-60'
            when d.days_past_due <= 90 then '61-90'
            else '90+'
        end as dpd_bucket
    from (
        select b.*,
            case
                when b.owed_past_due or b.paid_short then greatest({{ as_of }} - {{ i }}.due_date, 0)
                when b.paid_late then {{ i }}.paid_date - {{ i }}.due_date
                else 0
            end as days_past_due
        from (
            select
                {{ i }}.due_date < {{ as_of }}
                    and ({{ i }}.paid_date is null or {{ i }}.paid_date > {{ as_of }}) as owed_past_due,
                coalesce({{ i }}.paid_date <= {{ as_of }} and {{ i }}.paid_date > {{ i }}.due_date, false)
                    as paid_late,
                coalesce({{ i }}.paid_date <= {{ as_of }} and {{ i }}.amount_paid < {{ i }}.amount_due - 0.005,
                         false) as paid_short
        ) as b
    ) as d
)
{%- endmacro %}


{#- Predicates keeping `column` (a loan_id) within the range %(loan_from)s (inclusive) to %(loan_to)s
    (exclusive), for the steps that run once per range of loans (core.py's _loan_ranges); an open end
    (null) adds no predicate, so a book in one range runs the plain statement. Constants in the rendered
    SQL (bound client-side), so the planner reads a range through the loan_id index. -#}
{% macro in_loan_range(column) -%}
{% if loan_from is not none %}and {{ column }} >= %(loan_from)s {% endif -%}
{% if loan_to is not none %}and {{ column }} < %(loan_to)s{% endif %}
{%- endmacro %}
