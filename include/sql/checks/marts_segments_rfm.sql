-- Data-quality gate on the freshly built segment and RFM marts (mart_next) before they are published; the
-- loan marts' gate is checks/marts.sql (both run at once, on two connections).
-- Every column must be true (warehouse/marts.py check() names each false one); as_of is the run's
-- as-of date, bound as a parameter.
select
    -- client segments: usage_count counts distinct products, not events; the segment follows from it
    (select count(*) = count(distinct client_id) from mart_next.client_segments) as client_segments_keys_unique,
    (select count(*) = 0 from mart_next.client_segments as s
       join (select client_id, count(distinct product_id) as products from core.product_usage group by client_id) as u
         using (client_id)
      where s.usage_count <> u.products or cardinality(s.products) <> u.products)
        as client_segments_usage_count_is_distinct_products,
    (select coalesce(bool_and(client_segment = meta.product_segment(usage_count)), true)
       from mart_next.client_segments) as client_segments_consistent_with_usage_count,
    (select count(*) from mart_next.client_segments)
        = (select count(distinct u.client_id) from core.product_usage as u
           join core.clients as c on c.client_id = u.client_id and c.is_current)
        as client_segments_cover_every_client_with_usage,
    (select coalesce(bool_and(suggested_product is null or suggested_product <> all (products)), true)
       from mart_next.client_segments) as suggestions_not_held_yet,
    (select count(*) = count(distinct (client_segment, product_id))
            and coalesce(bool_and(share_pct > 0 and share_pct <= 100), true)
       from mart_next.segment_top_products) as segment_top_products_keys_unique_shares_valid,
    -- RFM: one row per (source, customer) with a counting line before the as-of date; scores 1-5
    (select count(*) = count(distinct (source, customer_id)) from mart_next.rfm) as rfm_keys_unique,
    (select count(*) from mart_next.rfm)
        = (select count(*) from (select distinct l.source, l.customer_id from core.retail_lines as l
           join (select distinct source, as_of_date from mart_next.rfm) as a using (source)
           where l.rfm_exclusion_reason is null and l.invoice_at < a.as_of_date) as d)
        as rfm_customers_reconcile_with_core,
    (select coalesce(bool_and(r_score between 1 and 5 and f_score between 1 and 5 and m_score between 1 and 5
                              and rfm_code = concat(r_score, f_score, m_score)
                              and segment = meta.rfm_segment(r_score, f_score)
                              and frequency >= 1 and recency_days >= 0), true)
       from mart_next.rfm) as rfm_scores_codes_segments_valid,
    (select coalesce(sum(customers), 0) from mart_next.rfm_segments) = (select count(*) from mart_next.rfm)
        as rfm_segments_reconcile_with_rfm;
