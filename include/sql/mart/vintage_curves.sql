-- Vintage curves: loans issued in a month, and the cumulative share of them that had gone more than 30
-- and more than 90 days past due (after payment allocation) by each month on book (0 = the issue month).
with vintages as (
    select date_trunc('month', issue_date)::date as issue_month, count(*) as loans, sum(amount) as amount
    from core.loans
    where issue_date <= %(as_of)s::date
    group by 1
), grid as (
    select v.*, mob::integer as months_on_book
    from vintages as v
    cross join lateral generate_series(
        0, (extract(year from age(date_trunc('month', %(as_of)s::date), v.issue_month)) * 12
            + extract(month from age(date_trunc('month', %(as_of)s::date), v.issue_month)))::integer
    ) as mob
), reached as (
    select date_trunc('month', issue_date)::date as issue_month, threshold,
           ((extract(year from reached_on) - extract(year from issue_date)) * 12
            + extract(month from reached_on) - extract(month from issue_date))::integer as months_on_book,
           count(*) as loans
    from core.loans
    cross join lateral (values (30, dpd30_reached_on), (90, dpd90_reached_on)) as r (threshold, reached_on)
    where reached_on is not null and issue_date <= %(as_of)s::date
    group by 1, 2, 3
), cumulative as (
    select g.issue_month, g.months_on_book, g.loans, g.amount,
           sum(coalesce(r30.loans, 0)) over w as ever_30,
           sum(coalesce(r90.loans, 0)) over w as ever_90
    from grid as g
    left join reached as r30
      on r30.issue_month = g.issue_month and r30.months_on_book = g.months_on_book and r30.threshold = 30
    left join reached as r90
      on r90.issue_month = g.issue_month and r90.months_on_book = g.months_on_book and r90.threshold = 90
    window w as (partition by g.issue_month order by g.months_on_book rows unbounded preceding)
)
insert into {{ target }}.vintage_curves
    (issue_month, months_on_book, loans_issued, amount_issued, loans_ever_30_plus, ever_30_plus_pct,
     loans_ever_90_plus, ever_90_plus_pct)
select issue_month, months_on_book, loans, amount, ever_30, round(100.0 * ever_30 / loans, 2),
       ever_90, round(100.0 * ever_90 / loans, 2)
from cumulative;
