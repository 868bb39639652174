-- Data-quality gate on the freshly built loan marts (mart_next) before they are published; the segment
-- and RFM marts' gate is checks/marts_segments_rfm.sql (both run at once, on two connections).
-- Every column must be true (warehouse/marts.py check() names each false one); as_of is the run's
-- as-of date, bound as a parameter. Distinct counts over core tables count the rows of a SELECT DISTINCT
-- (a hash aggregate, in parallel where it pays) rather than count(distinct ...), which sorts every row.
select
    (select count(*) = count(distinct (month, amount_band)) from mart_next.overdue_by_month)
        as overdue_by_month_keys_unique,
    (select coalesce(bool_and(overdue_share_pct between 0 and 100 and contracts_overdue <= contracts_due), true)
       from mart_next.overdue_by_month) as overdue_shares_within_0_100,
    (select coalesce(sum(contracts_due), 0) from mart_next.overdue_by_month)
        = (select count(*) from (select distinct i.loan_id, date_trunc('month', i.due_date)
                                 from core.instalments as i where i.due_date <= %(as_of)s::date) as d)
        as overdue_by_month_reconciles_with_core,
    (select count(*) = 0 from core.instalments as i left join core.loans as l using (loan_id) where l.loan_id is null)
        as no_orphan_instalments,
    (select count(*) = 0 from core.loans as l
       where not exists (select 1 from core.clients as c where c.client_id = l.client_id and c.is_current))
        as no_orphan_loans,
    (select count(*) from mart_next.overdue_notifications)
        = (select count(*) from core.loans where days_past_due > 0 and status in ('overdue', 'default')
           and as_of_date = %(as_of)s::date)
        as notifications_reconcile_with_core,
    (select coalesce(bool_and(amount_overdue > 0 and days_past_due > 0), true) from mart_next.overdue_notifications)
        as notifications_only_loans_in_arrears,
    (select coalesce(bool_and(par30_pct between 0 and 100 and par90_pct <= par30_pct), true)
       from mart_next.portfolio_at_risk) as par_within_0_100,
    -- loan states after allocation: the as-of month's state is the loan's state in core.loans
    (select count(*) = 0 from core.loan_month_states as s join core.loans as l using (loan_id)
      where s.at_date = l.as_of_date and s.days_past_due <> l.days_past_due and l.status <> 'written_off')
        as month_states_agree_with_core_loans,
    (select coalesce(sum(written_off_loans), 0) from mart_next.portfolio_at_risk)
        = (select count(*) from core.loans as l join mart_next.portfolio_at_risk as p
             on l.written_off_on between p.month and p.as_of_date)
        as written_off_figure_reconciles_with_core,
    -- roll rates: shares within 0-100 and adding up to 100 per month and from-bucket
    (select count(*) = count(distinct (month, from_bucket, to_bucket))
            and coalesce(bool_and(share_pct between 0 and 100), true) from mart_next.roll_rates)
        as roll_rates_keys_unique_shares_valid,
    (select coalesce(bool_and(abs(total - 100) <= 0.1), true)
       from (select sum(share_pct) as total from mart_next.roll_rates group by month, from_bucket) as t)
        as roll_rates_add_up_to_100,
    -- vintages: shares within 0-100, 90+ never above 30+, never falling with months on book
    (select coalesce(bool_and(ever_30_plus_pct between 0 and 100 and loans_ever_90_plus <= loans_ever_30_plus
                              and loans_ever_30_plus <= loans_issued), true)
       from mart_next.vintage_curves) as vintage_shares_valid,
    (select count(*) = 0 from (
        select loans_ever_30_plus - lag(loans_ever_30_plus) over w as d30,
               loans_ever_90_plus - lag(loans_ever_90_plus) over w as d90
        from mart_next.vintage_curves window w as (partition by issue_month order by months_on_book)) as v
      where d30 < 0 or d90 < 0) as vintage_curves_never_fall,
    (select coalesce(sum(loans_issued), 0) from mart_next.vintage_curves where months_on_book = 0)
        = (select count(*) from core.loans
           where issue_date <= %(as_of)s::date)
        as vintages_cover_every_loan;
