"""A Network Firewall rule-group emulator grafted onto moto (test and sandbox code, never deployed)."""
