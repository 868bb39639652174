-- Each loan's amounts due and paid by each of the last 13 month ends (the current month: by the as-of
-- date %(as_of)s), into the work table meta.loan_month_flows for core/loan_delinquency.sql's month states.
-- Read-only on core and independent of the flags, so flag_overdue_instalments runs it on a second
-- connection while it writes the flags. Payments and amounts falling due are summed per month (those
-- before the window into its first month) and run up per loan.
-- Runs once per range of loans (core.py's _loan_ranges: loan_from inclusive to loan_to exclusive,
-- open-ended where null), so each run's aggregates, joins and sorts stay within memory at any book size;
-- the first run empties the table.
{% from 'core/_macros.sql' import in_loan_range with context %}
{% if first_range %}truncate meta.loan_month_flows;{% endif %}
with month_ends as (
    select date_trunc('month', d)::date as month,
           least((date_trunc('month', d) + interval '1 month - 1 day')::date, %(as_of)s::date) as at_date
    from generate_series(date_trunc('month', %(as_of)s::date) - interval '12 months',
                         %(as_of)s::date, interval '1 month') as d
), first_month as (
    select min(month) as month from month_ends
), flows as (
    -- an instalment counts as due at t when due_date < t: it falls due "on" due_date + 1
    select loan_id, greatest(date_trunc('month', due_date + 1)::date, f.month) as month,
           sum(amount_due) as due, 0 as paid
    from core.instalments cross join first_month as f
    where due_date < %(as_of)s::date {{ in_loan_range('loan_id') }}
    group by 1, 2
    union all
    select loan_id, greatest(date_trunc('month', paid_date)::date, f.month), 0, sum(amount_paid)
    from core.instalments cross join first_month as f
    where paid_date <= %(as_of)s::date {{ in_loan_range('loan_id') }}
    group by 1, 2
), loan_months as (
    select l.loan_id, m.month, m.at_date,
           sum(coalesce(sum(f.due), 0)) over w as due_by_then,
           sum(coalesce(sum(f.paid), 0)) over w as paid_by_then
    from core.loans as l
    join month_ends as m on m.at_date >= l.issue_date
    left join flows as f on f.loan_id = l.loan_id and f.month = m.month
    where true {{ in_loan_range('l.loan_id') }}
    group by l.loan_id, m.month, m.at_date
    window w as (partition by l.loan_id order by m.month rows unbounded preceding)
)
insert into meta.loan_month_flows (loan_id, month, at_date, due_by_then, paid_by_then, total_due)
select lm.loan_id, lm.month, lm.at_date, lm.due_by_then, lm.paid_by_then, t.total_due
from loan_months as lm
join (select loan_id, sum(amount_due) as total_due from core.instalments
      where true {{ in_loan_range('loan_id') }} group by loan_id) as t using (loan_id);

-- Statistics that cover this range before its month states are planned (core/loan_month_states.sql reads
-- the range): a range past the last histogram bound - left by an autoanalyze that ran after the first
-- ranges, or by an earlier, smaller book - was estimated at 40 rows instead of about 975,000 and planned
-- as a nested loop; a million clients' last range then ran for more than 8 minutes where the whole flag
-- step takes 6 (about 0.7 s per analyze at that size).
analyze meta.loan_month_flows;
