"""Applications and their scoring: the record and table, derived quantities, the engine, explanations."""
