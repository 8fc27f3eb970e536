"""Everything with effects: the CLI, the local runner's front end, and (next) the Kafka service."""
