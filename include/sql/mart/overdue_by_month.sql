-- Contracts due and overdue per month of due date and amount band, up to the as-of date.
-- One pass: first one row per contract and month, then per band; each contract's issued amount counts
-- once per month however many instalments it had due.
with contract_months as (
    select date_trunc('month', due_date)::date as month, loan_id,
           bool_or(is_overdue) as overdue,
           sum(amount_due) filter (where is_overdue) as amount_overdue
    from core.instalments
    where due_date <= %(as_of)s::date
    group by 1, 2
)
insert into {{ target }}.overdue_by_month
select
    cm.month,
    l.amount_band,
    count(*),
    count(*) filter (where cm.overdue),
    round(100.0 * count(*) filter (where cm.overdue) / count(*), 2),
    sum(l.amount),
    coalesce(sum(cm.amount_overdue), 0)
from contract_months as cm
join core.loans as l using (loan_id)
group by 1, 2;
