"""Remote commands: HTTP → the process that holds the charger's socket → the charger."""
