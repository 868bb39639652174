-- Loan marts for BI. mart_next.* (same shape) is rebuilt each run, checked, then published here.
create table if not exists mart.overdue_by_month (
    month              date    not null,
    amount_band        text    not null,
    contracts_due      integer not null,
    contracts_overdue  integer not null,
    overdue_share_pct  numeric(5, 2) not null,
    amount_issued      numeric(16, 2) not null,
    amount_overdue     numeric(16, 2) not null,
    primary key (month, amount_band)
);
comment on table mart.overdue_by_month is 'Share of contracts overdue per month of due date and loan-amount band (the seed project''s measure: contracts, not instalments).';
comment on column mart.overdue_by_month.month is 'First day of the month in which instalments fell due.';
comment on column mart.overdue_by_month.amount_band is 'Loan amount band (RUB), e.g. до 50 000 or 500 000 и выше; the bands and their order are defined in include/client_dwh/amount_bands.py.';
comment on column mart.overdue_by_month.contracts_due is 'Contracts with at least one instalment due in the month.';
comment on column mart.overdue_by_month.contracts_overdue is 'Of those, contracts with an instalment due in the month that was paid late, paid short or is unpaid past due.';
comment on column mart.overdue_by_month.overdue_share_pct is 'contracts_overdue / contracts_due, in percent.';
comment on column mart.overdue_by_month.amount_issued is 'Sum of the issued amounts of the contracts due in the month (RUB).';
comment on column mart.overdue_by_month.amount_overdue is 'Sum of the amounts due of the overdue instalments (RUB).';

create table if not exists mart.portfolio_at_risk (
    month               date    not null primary key,
    as_of_date          date    not null,
    loans_outstanding   integer not null,
    outstanding_amount  numeric(16, 2) not null,
    par30_amount        numeric(16, 2) not null,
    par90_amount        numeric(16, 2) not null,
    par30_pct           numeric(5, 2) not null,
    par90_pct           numeric(5, 2) not null
);
alter table mart.portfolio_at_risk add column if not exists written_off_loans integer not null default 0;
alter table mart.portfolio_at_risk add column if not exists written_off_amount numeric(16, 2) not null default 0;
comment on table mart.portfolio_at_risk is 'Balance-weighted portfolio at risk at each month end (or the as-of date for the current month), after payment allocation; written-off loans leave it from their write-off day.';
comment on column mart.portfolio_at_risk.month is 'First day of the month; the figures are taken at its last day (as_of_date).';
comment on column mart.portfolio_at_risk.as_of_date is 'The month end, or the run''s as-of date for the current month.';
comment on column mart.portfolio_at_risk.loans_outstanding is 'Loans issued by as_of_date with something left to pay, not written off.';
comment on column mart.portfolio_at_risk.outstanding_amount is 'Scheduled payments still owed at as_of_date on loans issued by then and not written off (RUB).';
comment on column mart.portfolio_at_risk.par30_amount is 'Outstanding amount of loans more than 30 days past due after allocation (RUB).';
comment on column mart.portfolio_at_risk.par90_amount is 'Outstanding amount of loans more than 90 days past due after allocation (RUB).';
comment on column mart.portfolio_at_risk.par30_pct is 'Outstanding amount of loans more than 30 days past due, as a percent of all outstanding.';
comment on column mart.portfolio_at_risk.par90_pct is 'Outstanding amount of loans more than 90 days past due, as a percent of all outstanding.';
comment on column mart.portfolio_at_risk.written_off_loans is 'Loans written off during the month (more than WRITE_OFF_DPD days past due).';
comment on column mart.portfolio_at_risk.written_off_amount is 'Their balance on the write-off day (RUB).';

create table if not exists mart.overdue_notifications (
    as_of_date      date    not null,
    client_id       bigint  not null,
    client_name     text    not null,
    phone           text,
    loan_id         text    not null primary key,
    days_past_due   integer not null,
    dpd_bucket      text    not null,
    amount_overdue  numeric(14, 2) not null,
    priority        smallint not null,
    channel         text    not null,
    reason          text    not null
);
comment on table mart.overdue_notifications is 'Who to notify today and why: one row per loan with arrears after payment allocation at or above the tolerance (ARREARS_TOLERANCE), not written off, with priority (1 = first) and channel.';
comment on column mart.overdue_notifications.days_past_due is 'Days since the due date of the oldest instalment the loan''s payments have not covered.';
comment on column mart.overdue_notifications.dpd_bucket is 'Stage: 1-30, 31-60, 61-90 or 90+ days past due.';
comment on column mart.overdue_notifications.amount_overdue is 'Arrears after allocation: amounts due before today less everything paid (RUB).';
comment on column mart.overdue_notifications.priority is '1: 90+ days or more than 100 000 RUB in arrears; 2: 31-90 days; 3: 1-30 days.';
comment on column mart.overdue_notifications.channel is 'By stage: SMS for 1-30 days, an operator''s call for 31-90, collections for 90+.';
comment on column mart.overdue_notifications.reason is 'Why: the unpaid amount, since when, and for which contract.';

create table if not exists mart.roll_rates (
    month        date    not null,
    from_bucket  text    not null,
    to_bucket    text    not null,
    loans        integer not null,
    balance      numeric(16, 2) not null,
    share_pct    numeric(5, 2) not null,
    primary key (month, from_bucket, to_bucket)
);
comment on table mart.roll_rates is 'Monthly roll rates after payment allocation: of the balance in each DPD bucket at the previous month end, the share in each bucket at this month end.';
comment on column mart.roll_rates.month is 'First day of the month whose end (or the as-of date) the loans rolled to.';
comment on column mart.roll_rates.from_bucket is 'Bucket at the previous month end: current, 1-30, 31-60, 61-90, 90+.';
comment on column mart.roll_rates.to_bucket is 'Bucket at this month end: current, 1-30, 31-60, 61-90, 90+, written off, or closed (nothing left to pay).';
comment on column mart.roll_rates.loans is 'Loans that moved from from_bucket to to_bucket.';
comment on column mart.roll_rates.balance is 'Their balance at the previous month end (RUB).';
comment on column mart.roll_rates.share_pct is 'balance / the from_bucket''s balance at the previous month end, in percent (each month and from_bucket adds up to 100).';

create table if not exists mart.vintage_curves (
    issue_month        date    not null,
    months_on_book     integer not null,
    loans_issued       integer not null,
    amount_issued      numeric(16, 2) not null,
    loans_ever_30_plus integer not null,
    ever_30_plus_pct   numeric(5, 2) not null,
    loans_ever_90_plus integer not null,
    ever_90_plus_pct   numeric(5, 2) not null,
    primary key (issue_month, months_on_book)
);
comment on table mart.vintage_curves is 'Vintage curves: per month of issue and month on book, the cumulative share of the loans that had gone more than 30 and more than 90 days past due (after payment allocation).';
comment on column mart.vintage_curves.issue_month is 'First day of the month the loans were issued.';
comment on column mart.vintage_curves.months_on_book is 'Months since the issue month (0: the issue month itself), up to the as-of month.';
comment on column mart.vintage_curves.loans_issued is 'Loans issued in issue_month.';
comment on column mart.vintage_curves.amount_issued is 'Their issued amount (RUB).';
comment on column mart.vintage_curves.loans_ever_30_plus is 'Of them, loans more than 30 days past due at some day up to the end of this month on book.';
comment on column mart.vintage_curves.ever_30_plus_pct is 'loans_ever_30_plus / loans_issued, in percent.';
comment on column mart.vintage_curves.loans_ever_90_plus is 'Of them, loans more than 90 days past due at some day up to the end of this month on book.';
comment on column mart.vintage_curves.ever_90_plus_pct is 'loans_ever_90_plus / loans_issued, in percent.';
