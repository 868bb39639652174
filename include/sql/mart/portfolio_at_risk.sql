-- PAR30 / PAR90 at each of the last 12 month ends (the current month: at the as-of date), from each
-- loan's state after payment allocation (core.loan_month_states). Written-off loans leave the
-- denominator from their write-off day and are counted in the month they were written off.
with months as (
    select month, at_date from core.loan_month_states
    where month > (date_trunc('month', %(as_of)s::date) - interval '12 months')::date
    group by month, at_date
), book as (
    select s.month,
           count(*) filter (where s.dpd_bucket <> 'written off') as loans_outstanding,
           coalesce(sum(s.balance) filter (where s.dpd_bucket <> 'written off'), 0) as outstanding,
           coalesce(sum(s.balance) filter (where s.dpd_bucket <> 'written off' and s.days_past_due > 30), 0)
               as par30,
           coalesce(sum(s.balance) filter (where s.dpd_bucket <> 'written off' and s.days_past_due > 90), 0)
               as par90
    from core.loan_month_states as s
    group by s.month
), written_off as (
    select m.month, count(l.loan_id) as loans, coalesce(sum(l.written_off_amount), 0) as amount
    from months as m
    left join core.loans as l on l.written_off_on between m.month and m.at_date
    group by m.month
)
insert into {{ target }}.portfolio_at_risk
    (month, as_of_date, loans_outstanding, outstanding_amount, par30_amount, par90_amount, par30_pct, par90_pct,
     written_off_loans, written_off_amount)
select m.month, m.at_date, b.loans_outstanding, b.outstanding, b.par30, b.par90,
       round(100.0 * b.par30 / b.outstanding, 2), round(100.0 * b.par90 / b.outstanding, 2),
       w.loans, w.amount
from months as m
join book as b using (month)
join written_off as w using (month)
where b.outstanding > 0;
