"""The project's one custom operator, the partition sensor (it needs poke, reschedule and timeout
semantics); every other step is a ``@task`` over a plain function in the DAG file."""
