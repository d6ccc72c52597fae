"""The store: tables, queries and migrations. The only package that speaks SQL."""
