-- Overdue flags per instalment as of %(as_of)s, then each loan's seed-measure state (max_dpd, overdue_amount).
-- Overdue (the seed project's measure): paid after the due date, paid less than due, or unpaid past due.
-- days_past_due: for an instalment still owed past its due date, days from due date to as_of;
-- for one paid late in full, the days it was late. Only instalments still owed count for a loan's DPD.
-- Rows are rewritten only when a value changes, so a re-run (or a quiet day) writes almost nothing.
with computed as (
    select
        i.ctid as row_id, x.owed_past_due, x.paid_late, x.paid_short,
        case
            when x.owed_past_due or x.paid_short then greatest(%(as_of)s::date - i.due_date, 0)
            when x.paid_late then i.paid_date - i.due_date
            else 0
        end as days_past_due
    from core.instalments as i
    cross join lateral (
        select
            i.due_date < %(as_of)s::date and (i.paid_date is null or i.paid_date > %(as_of)s::date) as owed_past_due,
            coalesce(i.paid_date <= %(as_of)s::date and i.paid_date > i.due_date, false) as paid_late,
            coalesce(i.paid_date <= %(as_of)s::date and i.amount_paid < i.amount_due - 0.005, false) as paid_short
    ) as x
), flagged as (
    select
        row_id, days_past_due,
        owed_past_due or paid_late or paid_short as is_overdue,
        case
            when owed_past_due then 'unpaid past due'
            when paid_late and paid_short then 'paid late and short'
            when paid_late then 'paid late'
            when paid_short then 'paid short'
        end as overdue_reason,
        case
            when days_past_due = 0 then 'current'
            when days_past_due <= 30 then '1-30'
            when days_past_due <= 60 then '31-60'
            when days_past_due <= 90 then '61-90'
            else '90+'
        end as dpd_bucket
    from computed
)
update core.instalments as i
set is_overdue = f.is_overdue,
    overdue_reason = f.overdue_reason,
    days_past_due = f.days_past_due,
    dpd_bucket = f.dpd_bucket
from flagged as f
where i.ctid = f.row_id  -- same statement, same snapshot: the physical row id is the cheapest join key
  and (i.days_past_due is distinct from f.days_past_due or i.is_overdue is distinct from f.is_overdue
       or i.overdue_reason is distinct from f.overdue_reason);

with loan_state as (
    select
        loan_id,
        coalesce(max(days_past_due) filter (
            where due_date < %(as_of)s::date
              and (paid_date is null or paid_date > %(as_of)s::date or amount_paid < amount_due - 0.005)
        ), 0) as max_dpd,
        coalesce(sum(amount_due - case when paid_date <= %(as_of)s::date then amount_paid else 0 end)
            filter (where due_date < %(as_of)s::date), 0) as overdue_amount,
        coalesce(sum(amount_due - case when paid_date <= %(as_of)s::date then amount_paid else 0 end), 0)
            as outstanding_amount
    from core.instalments
    group by loan_id
)
update core.loans as l
set as_of_date = %(as_of)s::date,
    max_dpd = coalesce(s.max_dpd, 0),
    overdue_amount = greatest(coalesce(s.overdue_amount, 0), 0),
    outstanding_amount = greatest(coalesce(s.outstanding_amount, 0), 0)
    -- status comes from the loan's delinquency after payment allocation (core/loan_delinquency.sql)
from core.loans as l2
left join loan_state as s using (loan_id)
where l.loan_id = l2.loan_id;
