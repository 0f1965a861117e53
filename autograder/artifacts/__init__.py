"""What a kernel exported: reading the exported objects, and the store that keeps an execution for regrading."""
