-- Indexes the dashboards and the JSON API need to stay fast with a million clients. Idempotent.
-- mart.* is published by delete + insert (warehouse/marts.py swap), so these survive every refresh.

-- Today's notification list: filter by day, ordered by priority then days past due.
create index if not exists overdue_notifications_day_priority_idx
    on mart.overdue_notifications (as_of_date, priority, days_past_due desc, loan_id);
create index if not exists overdue_notifications_client_idx on mart.overdue_notifications (client_id);

-- Pie of clients per segment (index-only count) and the clients of one segment, paged by id.
create index if not exists client_segments_segment_client_idx on mart.client_segments (client_segment, client_id);

-- RFM: customers of one segment, and the R x F heat map counted per source.
create index if not exists rfm_source_segment_idx on mart.rfm (source, segment, customer_id);
create index if not exists rfm_source_scores_idx on mart.rfm (source, r_score, f_score);

-- Portraits: the clients of one portrait and the confidence histogram of one portrait.
create index if not exists client_portraits_portrait_idx on mart.client_portraits (portrait_id, confidence);

-- Recommendations of one variant or service (per client is the primary key).
create index if not exists recommendations_service_idx on mart.recommendations (service_id);
