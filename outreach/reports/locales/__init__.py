"""The reports' wording in each language other than English: one module a
language, each with ``MESSAGES``, the English wording -> its translation (a
dict of CLDR plural forms, ``one``/``few``/``many``/``other``..., for a
wording that counts). See :mod:`outreach.reports.i18n`."""
