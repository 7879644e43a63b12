"""Tests of outreach.reports: the figures, every format, the HTML page."""
