"""The Lambda package of nfw-blocklist.

Everything the deployed functions run lives here and nowhere else: the entry points in
``handlers.entry`` are thin; the domain (finding extraction, target policy, rule rendering,
capacity, eviction) is pure; AWS sits behind the small adapters ``handlers.ledger`` and
``handlers.firewall``. At runtime the package needs the standard library, boto3 (the Lambda runtime's)
and ``idna`` (IDNA2008 domain names), which the deployment zip carries beside it
(``components.response.BUNDLED_PACKAGES``).
The Pulumi components, the CLI and the sandbox import the same modules.
"""
