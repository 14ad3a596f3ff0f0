"""pip, run as a subprocess: its arguments, requirement files, resolution, failures and the marker seam."""
