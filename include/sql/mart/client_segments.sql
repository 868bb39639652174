-- Bank clients by the number of distinct products they used (not usage events), with the next product
-- to offer: the segment's most held product (segment_top_products) that the client does not hold yet.
-- A client without any product-usage event has no segment and is not in this mart.
with holdings as (
    select u.client_id, u.product_id, max(u.used_at) as last_used
    from core.product_usage as u
    group by u.client_id, u.product_id
), per_client as (
    select h.client_id, count(*)::int as usage_count, max(h.last_used) as last_used,
           array_agg(p.product_name order by p.product_name) as products,
           array_agg(h.product_id) as product_ids
    from holdings as h
    join core.products as p using (product_id)
    group by h.client_id
)
insert into {{ target }}.client_segments
select c.client_id, c.full_name, c.income, pc.usage_count, meta.product_segment(pc.usage_count),
       pc.last_used, pc.products, s.product_name,
       'держат ' || round(s.share_pct)::int || ' %% клиентов сегмента «' || s.client_segment || '»'
from per_client as pc
join core.clients as c on c.client_id = pc.client_id and c.is_current
left join lateral (
    select t.product_name, t.share_pct, t.client_segment
    from {{ target }}.segment_top_products as t
    where t.client_segment = meta.product_segment(pc.usage_count) and t.product_id <> all (pc.product_ids)
    order by t.product_rank
    limit 1
) as s on true;
