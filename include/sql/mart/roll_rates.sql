-- Monthly roll rates: where the balance of each DPD bucket at one month end stood at the next (after
-- payment allocation, core.loan_month_states). A loan with nothing left to pay rolls to 'closed'; shares
-- are of the from-bucket's balance at the earlier month end, so each (month, from_bucket) adds up to 100.
with moves as (
    select n_month.month, p.dpd_bucket as from_bucket, coalesce(n.dpd_bucket, 'closed') as to_bucket,
           p.balance
    from core.loan_month_states as p
    cross join lateral (select (p.month + interval '1 month')::date as month) as n_month
    left join core.loan_month_states as n on n.loan_id = p.loan_id and n.month = n_month.month
    where p.dpd_bucket <> 'written off'
      and n_month.month <= date_trunc('month', %(as_of)s::date)::date
)
insert into {{ target }}.roll_rates (month, from_bucket, to_bucket, loans, balance, share_pct)
select month, from_bucket, to_bucket, count(*), sum(balance),
       round(100.0 * sum(balance) / nullif(sum(sum(balance)) over (partition by month, from_bucket), 0), 2)
from moves
group by month, from_bucket, to_bucket;
