-- PAR30 / PAR90 at each of the last 12 month ends (the current month: at the as-of date).
-- Set-based without a months x instalments cross product: portfolio totals come from running sums of
-- amounts due (by issue month) and paid (by payment month); only instalments that were actually past
-- due at some month end are expanded to those month ends to find each delinquent loan's DPD.
with month_ends as (
    select date_trunc('month', d)::date as month,
           least((date_trunc('month', d) + interval '1 month - 1 day')::date, %(as_of)s::date) as at_date
    from generate_series(date_trunc('month', %(as_of)s::date) - interval '11 months',
                         %(as_of)s::date, interval '1 month') as d
), loan_totals as (
    select l.loan_id, l.issue_date, sum(i.amount_due) as total_due,
           max(i.paid_date) filter (where i.amount_paid >= i.amount_due - 0.005) as last_paid,
           bool_and(i.paid_date is not null and i.amount_paid >= i.amount_due - 0.005) as fully_paid
    from core.loans as l join core.instalments as i using (loan_id)
    group by l.loan_id, l.issue_date
), paid_by_month as materialized (
    -- payments up to the as-of date by month, those before the window in its first month: one scan
    select greatest(date_trunc('month', paid_date)::date, (select min(month) from month_ends)) as month,
           sum(amount_paid) as paid
    from core.instalments
    where paid_date <= %(as_of)s::date
    group by 1
), portfolio as materialized (
    select m.month, m.at_date,
           (select coalesce(sum(total_due), 0) from loan_totals where issue_date <= m.at_date)
         - (select coalesce(sum(paid), 0) from paid_by_month as p where p.month <= m.month) as outstanding,
           (select count(*) from loan_totals
             where issue_date <= m.at_date and not (fully_paid and last_paid <= m.at_date)) as loans_outstanding
    from month_ends as m
), delinquent as (
    -- (loan, month end) pairs where some instalment was past due and not (fully) paid
    select m.month, m.at_date, i.loan_id, max(m.at_date - i.due_date) as dpd
    from core.instalments as i
    join month_ends as m
      on m.at_date > i.due_date
     and (i.paid_date is null or i.paid_date > m.at_date or i.amount_paid < i.amount_due - 0.005)
    where i.is_overdue  -- only instalments that ever went overdue can be past due at a month end
    group by m.month, m.at_date, i.loan_id
), delinquent_paid_by_month as (
    -- what each delinquent loan had paid, by month (as paid_by_month, for those loans only)
    select i.loan_id,
           greatest(date_trunc('month', i.paid_date)::date, (select min(month) from month_ends)) as month,
           sum(i.amount_paid) as paid
    from core.instalments as i
    where i.paid_date <= %(as_of)s::date and i.loan_id in (select loan_id from delinquent)
    group by 1, 2
), delinquent_outstanding as materialized (
    -- a loan's outstanding balance at a month end: all it owes less what it had paid by then
    select d.month, d.dpd, t.total_due - coalesce(sum(p.paid), 0) as outstanding
    from delinquent as d
    join loan_totals as t using (loan_id)
    left join delinquent_paid_by_month as p on p.loan_id = d.loan_id and p.month <= d.month
    group by d.month, d.loan_id, d.dpd, t.total_due
)
insert into {{ target }}.portfolio_at_risk
select p.month, p.at_date, p.loans_outstanding, p.outstanding,
       coalesce(sum(d.outstanding) filter (where d.dpd > 30), 0),
       coalesce(sum(d.outstanding) filter (where d.dpd > 90), 0),
       round(100.0 * coalesce(sum(d.outstanding) filter (where d.dpd > 30), 0) / nullif(p.outstanding, 0), 2),
       round(100.0 * coalesce(sum(d.outstanding) filter (where d.dpd > 90), 0) / nullif(p.outstanding, 0), 2)
from portfolio as p
left join delinquent_outstanding as d using (month)
where p.outstanding > 0
group by p.month, p.at_date, p.loans_outstanding, p.outstanding;
