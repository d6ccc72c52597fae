"""The one data model: value objects, domain errors and domain events."""
