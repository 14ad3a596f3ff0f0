"""Settings: the options table, the sources they come from and their precedence, the request they make."""
