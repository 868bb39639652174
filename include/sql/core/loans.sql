-- Apply one part's staged loans to core.loans (latest version wins). Invalid records go to quarantine.
{% from 'core/_macros.sql' import latest_in_part, quarantine %}
create temp table part_loans on commit drop as
select
    s.record, s.source_file, s.line_no,
    case
        when meta.try_numeric(s.record ->> 'amount') is null or (s.record ->> 'amount')::numeric <= 0
            then 'non-positive amount ' || (s.record ->> 'amount')
        when meta.try_numeric(s.record ->> 'term_months') is null or (s.record ->> 'term_months')::numeric <= 0
            then 'non-positive term_months'
        when meta.try_date(s.record ->> 'issue_date') is null
            then 'impossible issue_date ' || coalesce(s.record ->> 'issue_date', 'null')
        when not exists (select 1 from core.clients c
                         where c.client_id = meta.try_id(s.record ->> 'client_id') and c.is_current)
            then 'loan for unknown client ' || (s.record ->> 'client_id')
    end as reason
from {{ latest_in_part('loans') }} as s;

{{ quarantine('loans', 'part_loans') }}

insert into core.loans (loan_id, client_id, amount, term_months, annual_rate, monthly_instalment, issue_date,
                        amount_band, batch_id, part_no)
select r ->> 'loan_id', meta.try_id(r ->> 'client_id'), (r ->> 'amount')::numeric, (r ->> 'term_months')::int,
       (r ->> 'annual_rate')::numeric, (r ->> 'monthly_instalment')::numeric, (r ->> 'issue_date')::date,
       -- bands and bounds come from client_dwh/amount_bands.py: the band whose lower bound the amount reaches
       (%(amount_band_labels)s::text[])[
           width_bucket((r ->> 'amount')::numeric, %(amount_band_bounds)s::numeric[]) + 1],
       %(batch_id)s, %(part_no)s
from part_loans as p cross join lateral (select p.record as r) as x
where p.reason is null
{%- if not fresh %}
on conflict (loan_id) do update set
    client_id = excluded.client_id, amount = excluded.amount, term_months = excluded.term_months,
    annual_rate = excluded.annual_rate, monthly_instalment = excluded.monthly_instalment,
    issue_date = excluded.issue_date, amount_band = excluded.amount_band,
    batch_id = excluded.batch_id, part_no = excluded.part_no, updated_at = now()
{%- endif %};
