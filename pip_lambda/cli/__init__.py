"""The command line: entry point, commands, help texts and the terminal."""
