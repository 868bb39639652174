-- Apply one part's staged product-usage events to core.product_usage (latest version wins).
-- Events of an unknown client or product, or with an impossible date, go to quarantine.
{% from 'core/_macros.sql' import latest_in_part, quarantine %}
create temp table part_product_usage on commit drop as
select
    s.record, s.source_file, s.line_no,
    case
        when meta.try_id(s.record ->> 'usage_id') is null
            then 'usage_id is not an integer'
        when meta.try_date(s.record ->> 'used_at') is null
            then 'impossible used_at ' || coalesce(s.record ->> 'used_at', 'null')
        when meta.try_date(s.record ->> 'used_at') < date '1990-01-01'
          or meta.try_date(s.record ->> 'used_at') > current_date
            then 'used_at out of range ' || (s.record ->> 'used_at')
        when s.record ->> 'amount' is not null and meta.try_numeric(s.record ->> 'amount') is null
            then 'non-numeric amount ' || (s.record ->> 'amount')
        when not exists (select 1 from core.clients c
                         where c.client_id = meta.try_id(s.record ->> 'client_id') and c.is_current)
            then 'usage by unknown client ' || (s.record ->> 'client_id')
        when not exists (select 1 from core.products pr where pr.product_id = s.record ->> 'product_id')
            then 'usage of unknown product ' || (s.record ->> 'product_id')
    end as reason
from {{ latest_in_part('product_usage') }} as s;

{{ quarantine('product_usage', 'part_product_usage') }}

insert into core.product_usage (usage_id, client_id, product_id, used_at, event, amount, batch_id, part_no)
select meta.try_id(r ->> 'usage_id'), meta.try_id(r ->> 'client_id'), r ->> 'product_id', (r ->> 'used_at')::date,
       r ->> 'event', (r ->> 'amount')::numeric, %(batch_id)s, %(part_no)s
from part_product_usage as p cross join lateral (select p.record as r) as x
where p.reason is null
{%- if not fresh %}
on conflict (usage_id) do update set
    client_id = excluded.client_id, product_id = excluded.product_id, used_at = excluded.used_at,
    event = excluded.event, amount = excluded.amount, batch_id = excluded.batch_id, part_no = excluded.part_no,
    updated_at = now()
{%- endif %};
