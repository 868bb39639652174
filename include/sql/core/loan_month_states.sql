-- Each loan at each of the last 13 month ends (the current month: at the as-of date %(as_of)s), by
-- core/loan_delinquency.sql's rule (payments settle the oldest amounts first; arrears below %(tolerance)s
-- RUB leave a loan current; written off for good), into core.loan_month_states for PAR and roll rates.
-- Runs after loan_delinquency.sql in its transaction: it reads that file's loan_schedule and the loans'
-- write-off days. The amounts due and paid by each month end come from meta.loan_month_flows
-- (core/loan_month_flows.sql, computed meanwhile on another connection); only loans in arrears need
-- their schedule, to find the oldest instalment owed. Once per range of loans, after that range's
-- loan_delinquency.sql and month flows (its loan_schedule holds just that range); the first empties the table.
{% from 'core/_macros.sql' import in_loan_range with context %}
{% if first_range %}truncate core.loan_month_states;{% endif %}
with with_balance as materialized (
    select f.loan_id, f.month, f.at_date, l.written_off_on, f.paid_by_then,
           f.total_due - f.paid_by_then as balance, f.due_by_then - f.paid_by_then as arrears
    from meta.loan_month_flows as f
    join core.loans as l using (loan_id)
    where true {{ in_loan_range('f.loan_id') }} {{ in_loan_range('l.loan_id') }}
), oldest_owed as (
    select b.loan_id, b.month, min(s.due_date) as due_date
    from with_balance as b
    join loan_schedule as s
      on s.loan_id = b.loan_id and s.due_date < b.at_date
     and s.cum_due - b.paid_by_then >= %(tolerance)s and s.cum_due - b.paid_by_then > 0.005
    where b.arrears >= %(tolerance)s and b.arrears > 0.005
      and (b.written_off_on is null or b.written_off_on > b.at_date)
    group by b.loan_id, b.month
)
insert into core.loan_month_states (month, at_date, loan_id, days_past_due, dpd_bucket, balance, arrears_amount)
select b.month, b.at_date, b.loan_id, x.dpd,
       case
           when b.written_off_on <= b.at_date then 'written off'
           when x.dpd = 0 then 'current'
           when x.dpd <= 30 then '1-30'
           when x.dpd <= 60 then '31-60'
           when x.dpd <= 90 then '61-90'
           else '90+'
       end,
       greatest(b.balance, 0),
       case when x.dpd > 0 then b.arrears else 0 end
from with_balance as b
left join oldest_owed as o using (loan_id, month)
cross join lateral (select coalesce(b.at_date - o.due_date, 0) as dpd) as x
where b.balance > 0.005 or b.written_off_on <= b.at_date;
