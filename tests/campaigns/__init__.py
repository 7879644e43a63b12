"""Tests of outreach.campaigns: dialogues, campaigns, recipients, the lookup rule."""
