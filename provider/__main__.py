"""The nfw-blocklist component provider: hosts every component for programs in any Pulumi language.

The Python language host runs this file when a program that added the package (``pulumi package add``)
previews or deploys, and when the CLI asks for the schema. The components, the handlers they package for
Lambda and the version all come from the repository around this directory, whatever the working
directory: the handlers are found from their module's path (``components.response``), the version in
``pyproject.toml`` (``components.package``).
"""

import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
if str(REPOSITORY) not in sys.path:
    sys.path.insert(0, str(REPOSITORY))

from pulumi.provider.experimental import component_provider_host  # noqa: E402

from components.firewall_engine import hosted_by_component_provider  # noqa: E402
from components.package import PACKAGE_NAME, component_types, version  # noqa: E402

if __name__ == "__main__":
    hosted_by_component_provider()
    component_provider_host(components=component_types(), name=PACKAGE_NAME, version=version())
