-- Typed, validated, deduplicated core. Clients keep history (type 2: one row per version).
create table if not exists core.clients (
    client_version_id bigint generated always as identity primary key,
    client_id      bigint      not null,
    full_name      text        not null,
    last_name      text,
    first_name     text,
    middle_name    text,
    gender         char(1),
    birth_date     date,
    region         text,
    education      text,
    employment     text,
    income         numeric(14, 2) not null,
    phone          text,
    registered_at  date,
    record_hash    text        not null,
    valid_from     timestamptz not null,
    valid_to       timestamptz,
    is_current     boolean     not null default true,
    batch_id       text        not null,
    part_no        integer     not null
);
create unique index if not exists clients_current_uq on core.clients (client_id) where is_current;
comment on table core.clients is 'Bank clients, one row per version (valid_from/valid_to); is_current marks the latest.';

create table if not exists core.loans (
    loan_id            text primary key,
    client_id          bigint        not null,
    amount             numeric(14, 2) not null,
    term_months        integer       not null,
    annual_rate        numeric(6, 4),
    monthly_instalment numeric(14, 2),
    issue_date         date          not null,
    amount_band        text          not null,
    -- state as of core.loans.as_of_date, set by flag_overdue_instalments
    as_of_date         date,
    max_dpd            integer,
    overdue_amount     numeric(14, 2),
    outstanding_amount numeric(14, 2),
    status             text,
    batch_id           text          not null,
    part_no            integer       not null,
    updated_at         timestamptz   not null default now()
);
alter table core.loans set (fillfactor = 60);  -- the loan state is updated on every run (HOT updates)
-- delinquency after payment allocation, set by core/loan_delinquency.sql (added after the first release)
alter table core.loans add column if not exists days_past_due integer;
alter table core.loans add column if not exists arrears_amount numeric(14, 2);
alter table core.loans add column if not exists technical_arrears_amount numeric(14, 2);
alter table core.loans add column if not exists dpd30_reached_on date;
alter table core.loans add column if not exists dpd90_reached_on date;
alter table core.loans add column if not exists written_off_on date;
alter table core.loans add column if not exists written_off_amount numeric(14, 2);
comment on table core.loans is 'Loans with their amount band and, as of as_of_date, their delinquency after payment allocation (days_past_due, arrears_amount, status: current/overdue/default/written_off/closed) and the seed''s per-instalment view (max_dpd, overdue_amount).';
comment on column core.loans.max_dpd is 'Seed measure: the largest days past due of an instalment still owed (unpaid or paid short) as of as_of_date, before allocation.';
comment on column core.loans.overdue_amount is 'Seed measure: amounts due before as_of_date less what was paid on those same instalments (RUB).';
comment on column core.loans.outstanding_amount is 'All scheduled amounts less everything paid by as_of_date (RUB).';
comment on column core.loans.days_past_due is 'Days since the due date of the oldest instalment not covered by the loan''s cumulative payments (payments settle the oldest amounts first); 0 when arrears are below the tolerance (ARREARS_TOLERANCE).';
comment on column core.loans.arrears_amount is 'Amounts due before as_of_date less everything paid by then, when at or above the tolerance (RUB); else 0.';
comment on column core.loans.technical_arrears_amount is 'Arrears below the tolerance (RUB): they leave the loan current and are not notified.';
comment on column core.loans.status is 'current (no arrears above the tolerance), overdue (1-90 days past due), default (91+), written_off, closed (nothing left to pay).';
comment on column core.loans.dpd30_reached_on is 'First day the loan was more than 30 days past due (after allocation), if ever by as_of_date.';
comment on column core.loans.dpd90_reached_on is 'First day the loan was more than 90 days past due (after allocation), if ever by as_of_date.';
comment on column core.loans.written_off_on is 'Day the loan first went past WRITE_OFF_DPD days past due: written off from then on, whatever is paid later.';
comment on column core.loans.written_off_amount is 'Balance (scheduled amounts less payments) on the write-off day (RUB).';

create table if not exists core.loan_month_states (
    month          date          not null,
    at_date        date          not null,
    loan_id        text          not null,
    days_past_due  integer       not null,
    dpd_bucket     text          not null,
    balance        numeric(14, 2) not null,
    arrears_amount numeric(14, 2) not null,
    primary key (month, loan_id)
);
comment on table core.loan_month_states is 'Each loan with a balance (or written off) at each of the last 13 month ends (the current month: at the as-of date), after payment allocation; rebuilt by flag_overdue_instalments. PAR and roll rates read it.';
comment on column core.loan_month_states.at_date is 'The month end (or the as-of date for the current month) the state is taken at.';
comment on column core.loan_month_states.days_past_due is 'Days past due at at_date after allocation (0 with arrears below the tolerance).';
comment on column core.loan_month_states.dpd_bucket is 'current, 1-30, 31-60, 61-90, 90+ or written off.';
comment on column core.loan_month_states.balance is 'Scheduled amounts less everything paid by at_date (RUB).';
comment on column core.loan_month_states.arrears_amount is 'Amounts due before at_date less everything paid by then, when at or above the tolerance (RUB).';

create table if not exists core.instalments (
    loan_id        text          not null,
    instalment_no  integer       not null,
    due_date       date          not null,
    amount_due     numeric(14, 2) not null,
    paid_date      date,
    amount_paid    numeric(14, 2),
    -- overdue flags as of the last flag_overdue_instalments run (core.loans.as_of_date)
    is_overdue     boolean,
    overdue_reason text,
    days_past_due  integer,
    dpd_bucket     text,
    batch_id       text          not null,
    part_no        integer       not null,
    updated_at     timestamptz   not null default now(),
    primary key (loan_id, instalment_no)
);
-- Overdue flags are rewritten as days pass: free space on each page lets those updates stay HOT
-- (no index maintenance), which halves the cost of flag_overdue_instalments.
alter table core.instalments set (fillfactor = 60);
create index if not exists instalments_due_idx on core.instalments (due_date);
comment on table core.instalments is 'Scheduled instalments with payment facts and overdue flags (paid late, paid short or unpaid past due).';
