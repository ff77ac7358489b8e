"""The local sandbox: deploys what the Pulumi program declares into moto and runs it."""
