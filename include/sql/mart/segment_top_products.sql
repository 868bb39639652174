-- Products ranked by how many clients of each segment hold them (used at least once); ties by product_id.
-- Built before client_segments, which takes each client's suggestion from this ranking.
with holdings as (
    select distinct u.client_id, u.product_id
    from core.product_usage as u
    join core.clients as c on c.client_id = u.client_id and c.is_current
), segmented as (
    select client_id, meta.product_segment(count(*)::int) as client_segment
    from holdings
    group by client_id
), segment_size as (
    select client_segment, count(*) as clients from segmented group by client_segment
)
insert into {{ target }}.segment_top_products
select s.client_segment,
       row_number() over (partition by s.client_segment order by count(*) desc, h.product_id),
       h.product_id, p.product_name, count(*), round(100.0 * count(*) / z.clients, 2)
from holdings as h
join segmented as s using (client_id)
join segment_size as z using (client_segment)
join core.products as p using (product_id)
group by s.client_segment, h.product_id, p.product_name, z.clients;
