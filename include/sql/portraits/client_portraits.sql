-- Next version of mart.client_portraits: the clients mapped in this run (temp table new_portraits), and
-- every other client that still has complete features (temp table client_features; complete = age known,
-- as portraits/warehouse_mapping.py _complete says) with the mapping stored before.
insert into {{ target }}.client_portraits (client_id, portrait_id, portrait_name, distance, confidence,
                                          second_portrait_id, model_version, catalogue_sha256, features_hash,
                                          mapped_at)
select n.client_id, n.portrait_id, n.portrait_name, n.distance, n.confidence, n.second_portrait_id,
       n.model_version, n.catalogue_sha256, n.features_hash, now()
from new_portraits as n
union all
select p.client_id, p.portrait_id, p.portrait_name, p.distance, p.confidence, p.second_portrait_id,
       p.model_version, p.catalogue_sha256, p.features_hash, p.mapped_at
from mart.client_portraits as p
where exists (select 1 from client_features as f where f.client_id = p.client_id and f.age is not null)
  and not exists (select 1 from new_portraits as n where n.client_id = p.client_id);
