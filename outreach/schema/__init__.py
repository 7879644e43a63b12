"""What is stored: the enumerations, column types, the tables (the one
declaration of the schema) and the ORM classes mapped onto them.

Import the module you need (``outreach.schema.tables`` for Core work,
``outreach.schema.models`` for the ORM): this package imports neither, so the
Core paths never load ``sqlalchemy.orm``.
"""
