-- Quality gate on the next portrait marts (mart_next) before they replace mart.client_portraits and
-- mart.portrait_distribution. Every column must be true (warehouse/marts.py check() names each false one).
select
    (select count(*) = count(distinct client_id) from mart_next.client_portraits) as client_portraits_keys_unique,
    (select count(*) = 0 from mart_next.client_portraits as p
      where not exists (select 1 from mart_next.portrait_distribution as d where d.portrait_id = p.portrait_id))
        as portraits_are_in_the_catalogue,
    (select count(*) = 0 from mart_next.client_portraits as p
      where not exists (select 1 from core.station_clients as s
                        join core.clients as c on c.client_id = s.client_id and c.is_current
                        where s.client_id = p.client_id))
        as no_orphan_portraits,
    (select coalesce(bool_and(confidence between 0 and 1 and distance >= 0), true) from mart_next.client_portraits)
        as confidence_within_0_1_distance_not_negative,
    (select coalesce(sum(clients), 0) from mart_next.portrait_distribution)
        = (select count(*) from mart_next.client_portraits) as distribution_reconciles_with_clients,
    (select coalesce(bool_and(share_pct between 0 and 100), true)
            and (coalesce(sum(clients), 0) = 0 or abs(sum(share_pct) - 100) <= 0.01 * count(*))
       from mart_next.portrait_distribution) as shares_within_0_100_summing_to_100;
