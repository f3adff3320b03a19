"""Model names (hub ids, aliases, local directories), loading, and the attack-speed wrapper."""
