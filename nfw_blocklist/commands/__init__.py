"""One module per ``nfw-blocklist`` command: its arguments (``add_to``) and what it does (``run``).

``nfw_blocklist.cli`` assembles them; what several commands share lives below them
(``arguments``, ``console``, ``stacks``, ``reports``, ``state_file``, ``live``, ``operations``)
and never imports a command.
"""
