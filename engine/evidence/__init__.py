"""Evidence an auditor can hold the department to (docs/audit-evidence.md).

What other packages use, module by module (imported as ``from engine.evidence import verify``;
this package imports nothing itself, because ``engine.models`` imports its tables):

- ``verify.verify_all``: every instance's hash chain in one streamed pass, the checkpoint chain
  and the access log, compared with the newest stored checkpoint or with a signed statement that
  an auditor kept outside the system;
- ``checkpoints``: the chained checkpoints (a Merkle root over every chain head, and the heads of
  the deployment, login and access logs), taken daily by the worker and on demand;
- ``statement``: a checkpoint as a small Ed25519-signed text, and the signing key;
- ``logs.append_access``: the access log (等保 2.0) of sensitive reads and exports;
- ``chains.check_one``: one instance's chain with the same rules as the whole.

The tables live in ``engine.evidence.models``.
"""
