"""The staged package tree: staging folders, cleaning, user code, distributions and their records."""
