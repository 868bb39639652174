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
comment on table mart.portfolio_at_risk is 'Balance-weighted portfolio at risk at each month end (or the as-of date for the current month).';
comment on column mart.portfolio_at_risk.outstanding_amount is 'Scheduled payments still owed at as_of_date on loans issued by then (RUB).';
comment on column mart.portfolio_at_risk.par30_pct is 'Outstanding amount of loans more than 30 days past due, as a percent of all outstanding.';
comment on column mart.portfolio_at_risk.par90_pct is 'Outstanding amount of loans more than 90 days past due, as a percent of all outstanding.';

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
comment on table mart.overdue_notifications is 'Who to notify today and why: one row per loan past due, with priority (1 = first) and channel.';
comment on column mart.overdue_notifications.priority is '1: 90+ days or more than 100 000 RUB overdue; 2: 31-90 days; 3: 1-30 days.';
comment on column mart.overdue_notifications.channel is 'Suggested channel, escalating with days past due.';
