"""The one place fastinit's version is written (pyproject.toml reads it from here)."""
__version__ = "1.0.0"
