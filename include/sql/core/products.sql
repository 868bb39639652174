-- Apply one part's staged product catalogue to core.products (latest version wins). Invalid rows go to quarantine.
create temp table part_products on commit drop as
select distinct on (s.natural_key)
    s.natural_key, s.record, s.source_file, s.line_no,
    case
        when btrim(s.record ->> 'product_id') = '' then 'empty product_id'
        when btrim(s.record ->> 'product_name') = '' then 'empty product_name'
    end as reason
from staging.products as s
where s.batch_id = %(batch_id)s and s.part_no = %(part_no)s
order by s.natural_key, s.line_no desc;

insert into meta.quarantine (layer, entity, batch_id, part_no, source_file, line_no, reason, raw)
select 'core', 'products', %(batch_id)s, %(part_no)s, source_file, line_no, reason, record::text
from part_products where reason is not null
on conflict do nothing;

insert into core.products (product_id, product_name, category, batch_id, part_no)
select btrim(r ->> 'product_id'), btrim(r ->> 'product_name'), r ->> 'category', %(batch_id)s, %(part_no)s
from part_products as p cross join lateral (select p.record as r) as x
where p.reason is null
on conflict (product_id) do update set
    product_name = excluded.product_name, category = excluded.category,
    batch_id = excluded.batch_id, part_no = excluded.part_no, updated_at = now();
