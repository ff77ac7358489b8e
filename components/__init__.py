"""Reusable Pulumi components of nfw-blocklist."""
