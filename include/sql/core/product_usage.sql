-- Apply one part's staged product-usage events to core.product_usage (latest version wins).
-- Events of an unknown client or product, or with an impossible date, go to quarantine.
create temp table part_product_usage on commit drop as
select distinct on (s.natural_key)
    s.natural_key, s.record, s.source_file, s.line_no,
    case
        when meta.try_numeric(s.record ->> 'usage_id') is null
          or meta.try_numeric(s.record ->> 'usage_id') <> trunc(meta.try_numeric(s.record ->> 'usage_id'))
            then 'usage_id is not an integer'
        when meta.try_date(s.record ->> 'used_at') is null
            then 'impossible used_at ' || coalesce(s.record ->> 'used_at', 'null')
        when meta.try_date(s.record ->> 'used_at') < date '1990-01-01'
          or meta.try_date(s.record ->> 'used_at') > current_date
            then 'used_at out of range ' || (s.record ->> 'used_at')
        when s.record ->> 'amount' is not null and meta.try_numeric(s.record ->> 'amount') is null
            then 'non-numeric amount ' || (s.record ->> 'amount')
        when not exists (select 1 from core.clients c
                         where c.client_id = meta.try_bigint(s.record ->> 'client_id') and c.is_current)
            then 'usage by unknown client ' || (s.record ->> 'client_id')
        when not exists (select 1 from core.products pr where pr.product_id = s.record ->> 'product_id')
            then 'usage of unknown product ' || (s.record ->> 'product_id')
    end as reason
from staging.product_usage as s
where s.batch_id = %(batch_id)s and s.part_no = %(part_no)s
order by s.natural_key, s.line_no desc;

insert into meta.quarantine (layer, entity, batch_id, part_no, source_file, line_no, reason, raw)
select 'core', 'product_usage', %(batch_id)s, %(part_no)s, source_file, line_no, reason, record::text
from part_product_usage where reason is not null
on conflict do nothing;

insert into core.product_usage (usage_id, client_id, product_id, used_at, event, amount, batch_id, part_no)
select (r ->> 'usage_id')::bigint, (r ->> 'client_id')::bigint, r ->> 'product_id', (r ->> 'used_at')::date,
       r ->> 'event', (r ->> 'amount')::numeric, %(batch_id)s, %(part_no)s
from part_product_usage as p cross join lateral (select p.record as r) as x
where p.reason is null
on conflict (usage_id) do update set
    client_id = excluded.client_id, product_id = excluded.product_id, used_at = excluded.used_at,
    event = excluded.event, amount = excluded.amount, batch_id = excluded.batch_id, part_no = excluded.part_no,
    updated_at = now();
