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
comment on table core.loans is 'Loans with their amount band and, as of as_of_date, max days past due, overdue and outstanding amounts and status (current/overdue/default/closed).';

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
