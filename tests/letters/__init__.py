"""Tests of outreach.letters: generating, the rendering process, reminders,
reviewing, and the rules of who gets which letter."""
