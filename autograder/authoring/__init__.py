"""Writing and shipping labs: student templates, bundles, stated rules, reference calibration."""
