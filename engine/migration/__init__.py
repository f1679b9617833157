"""Instance migration: move running instances of a process from version N to version M (docs/migration.md).

Public surface, by module (imported where used: ``engine.models`` imports the tables, and the
commands import the checks):

- ``plan.build`` — the plan: which elements of N became what in M (SpiffWorkflow's alignment plus
  the owner's mapping), which forms changed;
- ``dryrun.dry_run`` — per instance, whether it can move and why not, reading and writing nothing;
- ``jobs`` — ``create_job`` (the picked instances, for the worker), ``run_jobs`` (the worker's
  job: each instance in its own ``MigrateInstance`` command), ``cancel_job``, ``job_view``, ``jobs_of``;
- ``reasons.Reason`` / ``reasons.MigrationRefused`` — why an instance cannot move;
- ``models`` — ``migration_job`` and ``migration_item``.

``engine.commands.MigrateInstance`` migrates one instance through the ordinary command path.
``diff`` (how two versions correspond), ``workflow`` (moving a workflow) and ``positions`` (reading
stored states for the dry-run) are the modules here that import SpiffWorkflow.
"""
