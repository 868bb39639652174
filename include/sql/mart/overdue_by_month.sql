-- Contracts due and overdue per month of due date and amount band, up to the as-of date.
insert into {{ target }}.overdue_by_month
select
    date_trunc('month', i.due_date)::date as month,
    l.amount_band,
    count(distinct i.loan_id) as contracts_due,
    count(distinct i.loan_id) filter (where i.is_overdue) as contracts_overdue,
    round(100.0 * count(distinct i.loan_id) filter (where i.is_overdue) / count(distinct i.loan_id), 2),
    0,
    coalesce(sum(i.amount_due) filter (where i.is_overdue), 0)
from core.instalments as i
join core.loans as l using (loan_id)
where i.due_date <= %(as_of)s::date
group by 1, 2;

-- Issued amount counts each contract once per month, however many instalments it had due.
update {{ target }}.overdue_by_month as m
set amount_issued = s.amount_issued
from (
    select month, amount_band, sum(amount) as amount_issued
    from (
        select distinct date_trunc('month', i.due_date)::date as month, l.amount_band, l.loan_id, l.amount
        from core.instalments as i join core.loans as l using (loan_id)
        where i.due_date <= %(as_of)s::date
    ) as contract_months
    group by month, amount_band
) as s
where m.month = s.month and m.amount_band = s.amount_band;
