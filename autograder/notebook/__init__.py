"""Reading a notebook: loading it, the code cells that run, the definitions in them, the written answers."""
