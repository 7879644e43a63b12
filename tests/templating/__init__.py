"""Tests of outreach.templating: the template set, the sandbox, the render limits."""
