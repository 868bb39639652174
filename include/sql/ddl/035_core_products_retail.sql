-- Core tables for bank products and their usage, and for online-retail purchase lines. Idempotent.
create table if not exists core.products (
    product_id    text primary key,
    product_name  text        not null,
    category      text,
    batch_id      text        not null,
    part_no       integer     not null,
    updated_at    timestamptz not null default now()
);
comment on table core.products is 'The bank''s product catalogue (credit card, deposits, loans, insurance, investment account).';

create table if not exists core.product_usage (
    usage_id    bigint primary key,
    client_id   bigint      not null,
    product_id  text        not null,
    used_at     date        not null,
    event       text,
    amount      numeric(14, 2),
    batch_id    text        not null,
    part_no     integer     not null,
    updated_at  timestamptz not null default now()
);
create index if not exists product_usage_client_idx on core.product_usage (client_id, product_id);
comment on table core.product_usage is 'Product-usage events per client (open, use, payment); a product counts as used once however many events it has.';

-- meta.try_timestamp (a cast that returns null instead of failing) is created in 010.

create table if not exists core.retail_lines (
    line_id               text primary key,  -- <source>:<row number in the export>
    source                text        not null,
    row_no                bigint      not null,
    invoice_no            text        not null,
    stock_code            text,
    description           text,
    quantity              integer     not null,
    invoice_at            timestamp   not null,
    unit_price            numeric     not null,
    customer_id           text,
    country               text,
    is_cancellation       boolean     not null,
    line_hash             text        not null,
    rfm_exclusion_reason  text,
    batch_id              text        not null,
    part_no               integer     not null,
    updated_at            timestamptz not null default now()
);
create index if not exists retail_lines_customer_idx on core.retail_lines (source, customer_id)
    where rfm_exclusion_reason is null;
create index if not exists retail_lines_hash_idx on core.retail_lines (source, line_hash);
comment on table core.retail_lines is 'Online-retail export lines, typed; lines unusable for RFM stay here with rfm_exclusion_reason.';
comment on column core.retail_lines.customer_id is 'CustomerID as the export has it, normalised: 17850.0 -> 17850, empty -> null.';
comment on column core.retail_lines.rfm_exclusion_reason is 'Why the line does not count for RFM (first that applies): no customer, cancellation, quantity <= 0, price <= 0, duplicate line (an exact repeat of an earlier line of the same export); null: counts.';
