-- Data-quality gate on the freshly built marts (mart_next) before they are published.
-- Every column must be true; SQLCheckOperator fails the run on the first false and shows this row.
-- The as-of date comes in through Jinja (a validated yyyy-mm-dd Param or ds), never from free text.
select
    (select count(*) = count(distinct (month, amount_band)) from mart_next.overdue_by_month)
        as overdue_by_month_keys_unique,
    (select coalesce(bool_and(overdue_share_pct between 0 and 100 and contracts_overdue <= contracts_due), true)
       from mart_next.overdue_by_month) as overdue_shares_within_0_100,
    (select coalesce(sum(contracts_due), 0) from mart_next.overdue_by_month)
        = (select count(distinct (i.loan_id, date_trunc('month', i.due_date))) from core.instalments as i
           where i.due_date <= '{{ params.as_of_date or ds }}'::date) as overdue_by_month_reconciles_with_core,
    (select count(*) = 0 from core.instalments as i left join core.loans as l using (loan_id) where l.loan_id is null)
        as no_orphan_instalments,
    (select count(*) = 0 from core.loans as l
       where not exists (select 1 from core.clients as c where c.client_id = l.client_id and c.is_current))
        as no_orphan_loans,
    (select count(*) from mart_next.overdue_notifications)
        = (select count(*) from core.loans where max_dpd > 0 and as_of_date = '{{ params.as_of_date or ds }}'::date)
        as notifications_reconcile_with_core,
    (select coalesce(bool_and(par30_pct between 0 and 100 and par90_pct <= par30_pct), true)
       from mart_next.portfolio_at_risk) as par_within_0_100;
