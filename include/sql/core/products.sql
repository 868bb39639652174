-- Apply one part's staged product catalogue to core.products (latest version wins). Invalid rows go to quarantine.
{% from 'core/_macros.sql' import latest_in_part, quarantine %}
create temp table part_products on commit drop as
select
    s.record, s.source_file, s.line_no,
    case
        when btrim(s.record ->> 'product_id') = '' then 'empty product_id'
        when btrim(s.record ->> 'product_name') = '' then 'empty product_name'
    end as reason
from {{ latest_in_part('products') }} as s;

{{ quarantine('products', 'part_products') }}

insert into core.products (product_id, product_name, category, batch_id, part_no)
select btrim(r ->> 'product_id'), btrim(r ->> 'product_name'), r ->> 'category', %(batch_id)s, %(part_no)s
from part_products as p cross join lateral (select p.record as r) as x
where p.reason is null
{%- if not fresh %}
on conflict (product_id) do update set
    product_name = excluded.product_name, category = excluded.category,
    batch_id = excluded.batch_id, part_no = excluded.part_no, updated_at = now()
{%- endif %};
