-- Next version of mart.portrait_distribution: clients per portrait of the catalogue (temp table
-- catalogue_portraits, unassigned included), in the catalogue's order.
insert into {{ target }}.portrait_distribution (portrait_id, portrait_name, clients, share_pct, avg_confidence,
                                               advice)
select c.portrait_id, c.portrait_name, count(p.client_id),
       coalesce(round(100.0 * count(p.client_id) / nullif(t.total, 0), 2), 0),
       avg(p.confidence), c.advice
from catalogue_portraits as c
left join {{ target }}.client_portraits as p using (portrait_id)
cross join (select count(*) as total from {{ target }}.client_portraits) as t
group by c.portrait_id, c.portrait_name, c.advice, c.sort_order, t.total
order by c.sort_order;
