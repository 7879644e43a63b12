"""Tests of outreach.sending: messages, SMTP, at-most-once sending, confirm, resend, mark-sent."""
