-- Core tables for partner services, clients' interactions with them and the cleaned CRM. Idempotent.
create table if not exists core.partner_services (
    service_id        text primary key,  -- svc_ + hash of partner and service name (catalogue.make_service_id)
    partner_name      text        not null,
    partner_category  text,
    service_name      text        not null,
    description       text,
    batch_id          text        not null,
    part_no           integer     not null,
    updated_at        timestamptz not null default now()
);
comment on table core.partner_services is 'Partner services from the partners'' catalogue text, one row per partner and service.';

create table if not exists core.service_interactions (
    interaction_id  bigint primary key,
    client_id       bigint           not null,
    service_id      text             not null,
    interacted_at   timestamp        not null,
    kind            text             not null,  -- view | purchase
    weight          double precision not null,
    batch_id        text             not null,
    part_no         integer          not null,
    updated_at      timestamptz      not null default now()
);
create index if not exists service_interactions_client_idx on core.service_interactions (client_id, service_id);
comment on table core.service_interactions is 'Clients'' views and purchases of partner services; the recommender''s training data.';

create table if not exists core.crm_clients (
    client_key   text primary key,  -- cli_ + hash of the surviving phone (or e-mail): stable across imports
    crm_id       text,
    full_name    text        not null,
    phone        text,
    email        text,
    city         text,
    crm_updated_at timestamp,
    merged_rows  integer     not null,
    issues       text,
    source       text        not null,
    batch_id     text        not null,
    part_no      integer     not null,
    updated_at   timestamptz not null default now()
);
comment on table core.crm_clients is 'CRM clients after cleaning: one row per real person (duplicates merged), with a usable contact.';
comment on column core.crm_clients.merged_rows is 'How many export rows were merged into this client (1: no duplicates).';
