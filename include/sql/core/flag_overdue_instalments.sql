-- Overdue flags per instalment as of %(as_of)s, then each loan's current state.
-- Overdue (the seed project's measure): paid after the due date, paid less than due, or unpaid past due.
-- days_past_due: for an instalment still owed past its due date, days from due date to as_of;
-- for one paid late, the days it was late. Only instalments still owed count for a loan's current DPD.
with flags as (
    select
        i.loan_id, i.instalment_no,
        i.due_date < %(as_of)s::date and (i.paid_date is null or i.paid_date > %(as_of)s::date) as owed_past_due,
        i.paid_date <= %(as_of)s::date and i.paid_date > i.due_date as paid_late,
        i.paid_date <= %(as_of)s::date and i.amount_paid < i.amount_due - 0.005 as paid_short
    from core.instalments as i
), computed as (
    select
        f.loan_id, f.instalment_no,
        (f.owed_past_due or coalesce(f.paid_late, false) or coalesce(f.paid_short, false)) as is_overdue,
        case
            when f.owed_past_due then 'unpaid past due'
            when f.paid_late and f.paid_short then 'paid late and short'
            when f.paid_late then 'paid late'
            when f.paid_short then 'paid short'
        end as overdue_reason,
        case
            when f.owed_past_due or f.paid_short then greatest(%(as_of)s::date - i.due_date, 0)
            when f.paid_late then i.paid_date - i.due_date
            else 0
        end as days_past_due
    from flags as f
    join core.instalments as i using (loan_id, instalment_no)
)
update core.instalments as i
set as_of_date = %(as_of)s::date,
    is_overdue = c.is_overdue,
    overdue_reason = c.overdue_reason,
    days_past_due = c.days_past_due,
    dpd_bucket = case
        when c.days_past_due = 0 then 'current'
        when c.days_past_due <= 30 then '1-30'
        when c.days_past_due <= 60 then '31-60'
        when c.days_past_due <= 90 then '61-90'
        else '90+'
    end
from computed as c
where i.loan_id = c.loan_id and i.instalment_no = c.instalment_no
  and (i.as_of_date is distinct from %(as_of)s::date or i.days_past_due is distinct from c.days_past_due
       or i.is_overdue is distinct from c.is_overdue);

with loan_state as (
    select
        l.loan_id,
        coalesce(max(i.days_past_due) filter (
            where i.due_date < %(as_of)s::date
              and (i.paid_date is null or i.paid_date > %(as_of)s::date or i.amount_paid < i.amount_due - 0.005)
        ), 0) as max_dpd,
        coalesce(sum(i.amount_due - case when i.paid_date <= %(as_of)s::date then i.amount_paid else 0 end)
            filter (where i.due_date < %(as_of)s::date), 0) as overdue_amount,
        coalesce(sum(i.amount_due - case when i.paid_date <= %(as_of)s::date then i.amount_paid else 0 end), 0)
            as outstanding_amount
    from core.loans as l
    left join core.instalments as i using (loan_id)
    group by l.loan_id
)
update core.loans as l
set as_of_date = %(as_of)s::date,
    max_dpd = s.max_dpd,
    overdue_amount = greatest(s.overdue_amount, 0),
    outstanding_amount = greatest(s.outstanding_amount, 0),
    status = case
        when s.outstanding_amount <= 0.005 then 'closed'
        when s.max_dpd > 90 then 'default'
        when s.max_dpd > 0 then 'overdue'
        else 'current'
    end
from loan_state as s
where l.loan_id = s.loan_id;
