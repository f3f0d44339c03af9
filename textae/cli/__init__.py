"""The `textae` command: parsing (`main`), one module per command group (`text`, `series`), inputs."""
