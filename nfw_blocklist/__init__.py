"""Local tooling around the Pulumi program: offline render, sandbox, emulator, operator CLI."""
