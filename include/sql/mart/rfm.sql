-- Recency, frequency, monetary value per (source, customer) of the online-retail lines that count for
-- RFM (core.retail_lines.rfm_exclusion_reason is null: customer known, no cancellation, quantity and
-- price positive; exact-duplicate lines count too unless %(rfm_exclude_duplicate_lines)s, the
-- rfm_exclude_duplicate_lines Param - the original RFM specification counts every valid line).
-- As-of date: the bound rfm_as_of when given, else the day after the source's latest invoice date;
-- only purchases before the as-of date count. Scores are quintiles (ntile 5) over a deterministic
-- order, ties broken by customer_id: the most recent fifth gets R = 5, the most frequent F = 5, the
-- highest spending M = 5. The segment comes from R and F (meta.rfm_segment, the map is in ddl/050).
with as_of as (
    select source, coalesce(%(rfm_as_of)s::date, max(invoice_at)::date + 1) as as_of_date
    from core.retail_lines
    group by source
), customers as (
    select l.source, l.customer_id, a.as_of_date,
           max(l.invoice_at)::date as last_purchase,
           count(distinct l.invoice_no)::int as frequency,
           sum(l.quantity * l.unit_price) as monetary,
           mode() within group (order by l.country) as country
    from core.retail_lines as l
    join as_of as a using (source)
    where (l.rfm_exclusion_reason is null
           or (l.rfm_exclusion_reason = 'duplicate line' and not %(rfm_exclude_duplicate_lines)s))
      and l.invoice_at < a.as_of_date
    group by l.source, l.customer_id, a.as_of_date
), scored as (
    select c.*, c.as_of_date - c.last_purchase as recency_days,
           6 - ntile(5) over (partition by c.source order by c.as_of_date - c.last_purchase, c.customer_id)
               as r_score,
           ntile(5) over (partition by c.source order by c.frequency, c.customer_id) as f_score,
           ntile(5) over (partition by c.source order by c.monetary, c.customer_id) as m_score
    from customers as c
)
insert into {{ target }}.rfm (source, customer_id, country, as_of_date, last_purchase, recency_days, frequency,
                              monetary, r_score, f_score, m_score, rfm_code, segment)
select source, customer_id, country, as_of_date, last_purchase, recency_days, frequency, monetary,
       r_score, f_score, m_score, concat(r_score, f_score, m_score), meta.rfm_segment(r_score, f_score)
from scored;
