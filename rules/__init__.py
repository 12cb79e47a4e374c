"""The rules as data: scoring grids, allocation policies and dated regulatory parameters."""
