"""What a build tells its user: the summary and the JSON report."""
