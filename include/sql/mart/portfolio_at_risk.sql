-- PAR30 / PAR90 at each of the last 12 month ends (the current month: at the as-of date).
with month_ends as (
    select date_trunc('month', d)::date as month,
           least((date_trunc('month', d) + interval '1 month - 1 day')::date, %(as_of)s::date) as at_date
    from generate_series(date_trunc('month', %(as_of)s::date) - interval '11 months',
                         %(as_of)s::date, interval '1 month') as d
), owed as (
    select m.month, m.at_date, i.loan_id, i.due_date,
           i.amount_due - case when i.paid_date <= m.at_date then i.amount_paid else 0 end as owed
    from month_ends as m
    join core.loans as l on l.issue_date <= m.at_date
    join core.instalments as i on i.loan_id = l.loan_id
), loan_at_month as (
    select month, at_date, loan_id,
           sum(owed) as outstanding,
           coalesce(max(at_date - due_date) filter (where due_date < at_date and owed > 0.005), 0) as dpd
    from owed
    group by month, at_date, loan_id
    having sum(owed) > 0.005
)
insert into {{ target }}.portfolio_at_risk
select month, at_date, count(*), sum(outstanding),
       coalesce(sum(outstanding) filter (where dpd > 30), 0),
       coalesce(sum(outstanding) filter (where dpd > 90), 0),
       round(100.0 * coalesce(sum(outstanding) filter (where dpd > 30), 0) / sum(outstanding), 2),
       round(100.0 * coalesce(sum(outstanding) filter (where dpd > 90), 0) / sum(outstanding), 2)
from loan_at_month
group by month, at_date;
