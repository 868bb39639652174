-- Overdue flags per instalment as of %(as_of)s, then each loan's seed-measure state (max_dpd, overdue_amount).
-- The flags' rule is core/_macros.sql's instalment_flags. Only instalments still owed count for a loan's DPD.
-- Rows are rewritten only when a value changes, so a re-run (or a quiet day) writes almost nothing; and
-- core/instalments.sql already writes new rows flagged as of the previous run's date, so the first run
-- after a big load does not rewrite every instalment either.
{% from 'core/_macros.sql' import instalment_flags %}
with changed as (
    -- only the rows whose flags differ (none on a re-run or a quiet day): the update joins just those
    select i.ctid as row_id, f.is_overdue, f.overdue_reason, f.days_past_due, f.dpd_bucket
    from core.instalments as i
    cross join {{ instalment_flags('i', '%(as_of)s::date') }} as f
    where i.days_past_due is distinct from f.days_past_due or i.is_overdue is distinct from f.is_overdue
       or i.overdue_reason is distinct from f.overdue_reason
)
update core.instalments as i
set is_overdue = f.is_overdue,
    overdue_reason = f.overdue_reason,
    days_past_due = f.days_past_due,
    dpd_bucket = f.dpd_bucket
from changed as f
where i.ctid = f.row_id;  -- same statement, same snapshot: the physical row id is the cheapest join key

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
