"""A local Salesforce org simulator: REST, Tooling, OAuth and Metadata (SOAP) APIs over HTTPS.

See docs/architecture.md §1 for the module split, the scenario format, the ``/_sim/`` endpoints and the
environment it prints for ``cci``. Start one with ``python -m orgsim serve --scenario new_customer`` or,
in tests, ``orgsim.server.start("new_customer")``.
"""
