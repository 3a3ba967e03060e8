"""The discovery API's blueprints, one per resource: listings, search, and the service routes."""
