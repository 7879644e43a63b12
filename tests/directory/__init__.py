"""Tests of outreach.directory: organizations, contacts, their files and history."""
