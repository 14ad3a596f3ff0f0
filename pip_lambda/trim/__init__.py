"""Optional trimming of the tree: exclusions, slim rules, stripping and bytecode."""
