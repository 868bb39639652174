-- Data-quality gate on the freshly built marts (mart_next) before they are published.
-- Every column must be true; SQLCheckOperator fails the run on the first false and shows this row.
-- The as-of date comes in through Jinja from client_dwh.run_dates (the run's one rule: a validated
-- yyyy-mm-dd Param, else the logical date, else run_after), never from free text.
select
    (select count(*) = count(distinct (month, amount_band)) from mart_next.overdue_by_month)
        as overdue_by_month_keys_unique,
    (select coalesce(bool_and(overdue_share_pct between 0 and 100 and contracts_overdue <= contracts_due), true)
       from mart_next.overdue_by_month) as overdue_shares_within_0_100,
    (select coalesce(sum(contracts_due), 0) from mart_next.overdue_by_month)
        = (select count(distinct (i.loan_id, date_trunc('month', i.due_date))) from core.instalments as i
           where i.due_date <= '{{ run_as_of_date(params, dag_run) }}'::date) as overdue_by_month_reconciles_with_core,
    (select count(*) = 0 from core.instalments as i left join core.loans as l using (loan_id) where l.loan_id is null)
        as no_orphan_instalments,
    (select count(*) = 0 from core.loans as l
       where not exists (select 1 from core.clients as c where c.client_id = l.client_id and c.is_current))
        as no_orphan_loans,
    (select count(*) from mart_next.overdue_notifications)
        = (select count(*) from core.loans where max_dpd > 0 and as_of_date = '{{ run_as_of_date(params, dag_run) }}'::date)
        as notifications_reconcile_with_core,
    (select coalesce(bool_and(par30_pct between 0 and 100 and par90_pct <= par30_pct), true)
       from mart_next.portfolio_at_risk) as par_within_0_100,
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
        = (select count(distinct (l.source, l.customer_id)) from core.retail_lines as l
           join (select distinct source, as_of_date from mart_next.rfm) as a using (source)
           where l.rfm_exclusion_reason is null and l.invoice_at < a.as_of_date)
        as rfm_customers_reconcile_with_core,
    (select coalesce(bool_and(r_score between 1 and 5 and f_score between 1 and 5 and m_score between 1 and 5
                              and rfm_code = concat(r_score, f_score, m_score)
                              and segment = meta.rfm_segment(r_score, f_score)
                              and frequency >= 1 and recency_days >= 0), true)
       from mart_next.rfm) as rfm_scores_codes_segments_valid,
    (select coalesce(sum(customers), 0) from mart_next.rfm_segments) = (select count(*) from mart_next.rfm)
        as rfm_segments_reconcile_with_rfm;
