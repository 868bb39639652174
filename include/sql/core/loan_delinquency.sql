-- Loan delinquency as a credit-risk team counts it, as of %(as_of)s (the per-instalment flags of
-- flag_overdue_instalments.sql, the seed's measure, are left as they are).
-- * Allocation: a loan's payments settle the oldest amounts owed first, so a later payment cures an
--   earlier shortfall. With P(t) = everything paid by day t and C(k) = the amounts due of instalments
--   1..k (in due order), the loan's DPD at t is t minus the due date of the oldest instalment k due
--   before t with C(k) - P(t) at or above the tolerance.
-- * Technical arrears: arrears below %(tolerance)s RUB leave the loan current (and off the call list).
-- * Write-off: the first day the DPD exceeds %(write_off_dpd)s the loan is written off, for good.
-- The same rule gives the day a loan first went past 30 and 90 DPD (vintage curves) and its state at
-- each of the last 13 month ends (PAR, roll rates) in core.loan_month_states.
-- Runs once per range of loans (core.py's _loan_ranges; see in_loan_range in core/_macros.sql),
-- all in the flag step's transaction: the first run creates the work tables, each later one refills them.
{% from 'core/_macros.sql' import in_loan_range with context %}
{%- macro work_table(name) -%}
{% if first_range %}create temp table {{ name }} on commit drop as{% else %}truncate {{ name }};
insert into {{ name }}{% endif %}
{%- endmacro %}

{{ work_table('loan_schedule') }}
select loan_id, due_date, amount_due,
       sum(amount_due) over (partition by loan_id order by due_date, instalment_no) as cum_due
from core.instalments
where true {{ in_loan_range('loan_id') }};

-- First day past 30, 90 and write_off_dpd DPD. P(t) only grows, so instalment k keeps a loan past W
-- DPD from day due(k) + W + 1 until it is covered: the first such day over all k is the answer, and
-- only those check days need P(t). One sorted pass per loan: payments and check days in date order,
-- a running sum of payments (payments of a day count before that day's check).
-- Only loans with an instalment paid more than 30 days late, paid short or still unpaid can cross.
{{ work_table('loan_crossings') }}
with candidates as (
    select distinct loan_id from core.instalments
    where due_date + 31 <= %(as_of)s::date {{ in_loan_range('loan_id') }}
      and (paid_date is null or paid_date > due_date + 30 or amount_paid < amount_due - 0.005)
), thresholds (days) as (
    values (30), (90), (%(write_off_dpd)s::integer)
), events as (
    select i.loan_id, i.paid_date as at_date, 0 as kind, i.amount_paid as paid,
           null::integer as days, null::numeric as cum_due
    from core.instalments as i join candidates using (loan_id)
    where i.paid_date <= %(as_of)s::date {{ in_loan_range('i.loan_id') }}
    union all
    select s.loan_id, s.due_date + t.days + 1, 1, 0, t.days, s.cum_due
    from loan_schedule as s join candidates using (loan_id) cross join thresholds as t
    where s.due_date + t.days + 1 <= %(as_of)s::date
), running as (
    select e.*, sum(e.paid) over (partition by e.loan_id order by e.at_date, e.kind
                                  rows unbounded preceding) as paid_by_then
    from events as e
)
select distinct on (loan_id, days) loan_id, days, at_date as reached_on, paid_by_then
from running
where kind = 1 and cum_due - paid_by_then >= %(tolerance)s and cum_due - paid_by_then > 0.005
order by loan_id, days, at_date;

-- The loan's state at the as-of date.
with totals as (
    select loan_id,
           sum(amount_due) as total_due,
           coalesce(sum(amount_due) filter (where due_date < %(as_of)s::date), 0) as due_by_now,
           coalesce(sum(amount_paid) filter (where paid_date <= %(as_of)s::date), 0) as paid_by_now
    from core.instalments
    where true {{ in_loan_range('loan_id') }}
    group by loan_id
), oldest_owed as (
    select s.loan_id, min(s.due_date) as due_date
    from loan_schedule as s join totals as t using (loan_id)
    where s.due_date < %(as_of)s::date
      and s.cum_due - t.paid_by_now >= %(tolerance)s and s.cum_due - t.paid_by_now > 0.005
    group by s.loan_id
), state as (
    select l.loan_id,
           greatest(coalesce(t.due_by_now - t.paid_by_now, 0), 0) as arrears,
           greatest(coalesce(t.total_due - t.paid_by_now, 0), 0) as balance,
           coalesce(%(as_of)s::date - o.due_date, 0) as dpd,
           c30.reached_on as dpd30_on, c90.reached_on as dpd90_on, wo.reached_on as written_off_on,
           t.total_due - wo.paid_by_then as written_off_amount
    from core.loans as l
    left join totals as t using (loan_id)
    left join oldest_owed as o using (loan_id)
    left join loan_crossings as c30 on c30.loan_id = l.loan_id and c30.days = 30
    left join loan_crossings as c90 on c90.loan_id = l.loan_id and c90.days = 90
    left join loan_crossings as wo on wo.loan_id = l.loan_id and wo.days = %(write_off_dpd)s::integer
    where true {{ in_loan_range('l.loan_id') }}
)
update core.loans as l
set days_past_due = s.dpd,
    arrears_amount = case when s.dpd > 0 then s.arrears else 0 end,
    technical_arrears_amount = case when s.dpd = 0 then s.arrears else 0 end,
    dpd30_reached_on = s.dpd30_on,
    dpd90_reached_on = s.dpd90_on,
    written_off_on = s.written_off_on,
    written_off_amount = s.written_off_amount,
    status = case
        when s.written_off_on is not null then 'written_off'
        when s.balance <= 0.005 then 'closed'
        when s.dpd > 90 then 'default'
        when s.dpd > 0 then 'overdue'
        else 'current'
    end
from state as s
where l.loan_id = s.loan_id
  and (l.days_past_due, l.arrears_amount, l.technical_arrears_amount, l.dpd30_reached_on, l.dpd90_reached_on,
       l.written_off_on, l.written_off_amount, l.status)
      is distinct from
      (s.dpd, case when s.dpd > 0 then s.arrears else 0 end, case when s.dpd = 0 then s.arrears else 0 end,
       s.dpd30_on, s.dpd90_on, s.written_off_on, s.written_off_amount,
       case
           when s.written_off_on is not null then 'written_off'
           when s.balance <= 0.005 then 'closed'
           when s.dpd > 90 then 'default'
           when s.dpd > 0 then 'overdue'
           else 'current'
       end);
