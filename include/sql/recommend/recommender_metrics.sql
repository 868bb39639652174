-- Next version of mart.recommender_metrics: the history of earlier training runs, and this run's metrics
-- (temp table next_recommender_metrics) in place of any it had before.
insert into {{ target }}.recommender_metrics
select * from mart.recommender_metrics where model_run_id <> %(model_run_id)s;

insert into {{ target }}.recommender_metrics
select * from next_recommender_metrics;
