"""arpolicy: accounts-receivable policies as rules."""

__version__ = "0.1.0"
