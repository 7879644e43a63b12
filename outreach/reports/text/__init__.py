"""Reports as text, one module a format: :mod:`~outreach.reports.text.table`
(80 columns, for the terminal), :mod:`~outreach.reports.text.csvtext`,
:mod:`~outreach.reports.text.jsondata` and
:mod:`~outreach.reports.text.markdown`; the figures the table and Markdown
both show are in :mod:`~outreach.reports.text.figures`.

Every function returns a string. Which function renders which format is
chosen in one place, :func:`outreach.reports.render_status` and its
siblings; the words and numbers all formats share, HTML too, are in
:mod:`outreach.reports.labels`. Nothing here imports the HTML page.
"""
