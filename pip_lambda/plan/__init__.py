"""What a build is for: runtimes, the target platform, Lambda's limits and the typed build request."""
