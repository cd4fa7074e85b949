"""REST search API of the MS1 non-targeted-analysis stack."""

__version__ = "0.1.0"
