"""The YAML sections of the destinations: where numbers leave the warehouse for."""
