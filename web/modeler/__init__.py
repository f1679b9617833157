"""The server side of the process owners' modeler (docs/modeler.md).

- ``lint``: bpmnlint through the project-local CLI, as an extra deploy check;
- ``bundles``: placing uploaded files in the bundle, zips, a process's forms, forms diffs;
- ``deploys``: the one deploy/validate call the modeler, the REST API, the upload page and the CLI share.

The pages and JSON endpoints are ``web.blueprints.modeler``; the REST endpoints ``web.api.deployments``.
"""
