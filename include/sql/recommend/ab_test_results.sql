-- Next version of mart.ab_test_results: every earlier run and experiment, and this run's two arms
-- (temp table next_ab_test_results) in place of any it had before.
insert into {{ target }}.ab_test_results
select * from mart.ab_test_results where (model_run_id, experiment) <> (%(model_run_id)s, %(experiment)s);

insert into {{ target }}.ab_test_results
select * from next_ab_test_results;
